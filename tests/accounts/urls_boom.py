"""The tenant URLconf plus a plain Django view under /api/ that crashes: proves the JSON 500 path."""

from django.urls import path

from savegame.urls_tenants import urlpatterns as tenant_urlpatterns


def boom(request):
    raise RuntimeError("secret-sql-and-stack-trace")


urlpatterns = [path("api/v1/test-boom", boom), *tenant_urlpatterns]
