"""The tenant URLconf plus a page that crashes (for the no-debug-page test)."""

from django.urls import path

from savegame.urls_tenants import urlpatterns as tenant_urlpatterns


def boom(request):
    raise RuntimeError("secret-settings-and-stack-trace")


urlpatterns = [path("boom/", boom), *tenant_urlpatterns]

handler500 = "savegame.unavailable.server_error"  # as the real URLconfs
