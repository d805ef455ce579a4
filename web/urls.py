"""tenants pages on the organization host: the member home and profile, the leader's settings,
the PWA files (manifest, icons, service worker, offline page), the language switch and the logo."""

from django.urls import path
from django.views.generic import RedirectView

from web import members, pages, pwa

urlpatterns = [
    path("", pages.home, name="home"),
    path("profile/", pages.profile, name="profile"),
    path("offline/", pwa.offline, name="offline"),
    path("manage/members/", members.manage_members, name="manage-members"),
    path("manage/members/add/", members.manage_member_add, name="manage-member-add"),
    path("manage/settings/", pages.manage_settings, name="manage-settings"),
    path("i18n/setlang/", pages.language_switch, name="set_language"),
    path("logo", pages.logo, name="org-logo"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service-worker"),
    path("favicon.svg", pwa.favicon_svg, name="favicon"),
    path("favicon.ico", RedirectView.as_view(url="/favicon.svg", permanent=True)),
    path("icons/icon-<int:size>.png", pwa.icon, name="app-icon"),
    path("icons/maskable-<int:size>.png", pwa.icon, {"maskable": True}, name="app-icon-maskable"),
]
