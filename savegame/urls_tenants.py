"""An organization's host: its member site, leader dashboard, API and Daraja callbacks.

Each app owns its routes: `<app>/api/urls.py` (under /api/v1/) and `<app>/urls.py` (pages).
"""

from django.conf import settings
from django.urls import include, path

from savegame.health import healthz

APPS = ["accounts", "challenges", "payments", "notifications", "analytics", "web"]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include([path("", include(f"{app}.api.urls")) for app in APPS])),
    *[path("", include(f"{app}.urls")) for app in APPS],
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
