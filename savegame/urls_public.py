"""The platform host (BASE_DOMAIN): landing page, Django admin for the platform owner, health, and
the feature-phone callbacks (/hooks/ussd/, /hooks/sms/inbound/)."""

from django.contrib import admin
from django.urls import include, path

from savegame.health import healthz
from tenants.views import landing

urlpatterns = [
    path("", landing, name="landing"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Africa's Talking: USSD and incoming SMS name their organization by service code / shortcode.
    path("", include("ussd.urls")),
]

handler500 = "savegame.unavailable.server_error"  # a database that is down: 503 JSON on /hooks/ and /api/
