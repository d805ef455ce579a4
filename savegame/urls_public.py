"""The platform host (BASE_DOMAIN): landing page, Django admin for the platform owner, health."""

from django.contrib import admin
from django.urls import path

from savegame.health import healthz
from tenants.views import landing

urlpatterns = [
    path("", landing, name="landing"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

handler500 = "savegame.unavailable.server_error"  # a database that is down: 503 JSON on /hooks/ and /api/
