"""The platform host (BASE_DOMAIN): landing page, Django admin for the platform owner, health, and
the feature-phone callbacks (/hooks/ussd/, /hooks/sms/inbound/)."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from savegame.health import healthz
from tenants.views import landing

def favicon(request):
    """Browsers ask every admin page for /favicon.ico (it was a 404): the platform's own mark."""
    return HttpResponseRedirect(static("img/platform-favicon.svg"))


urlpatterns = [
    path("", landing, name="landing"),
    path("favicon.ico", favicon, name="platform-favicon"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    # Africa's Talking: USSD and incoming SMS name their organization by service code / shortcode.
    path("", include("ussd.urls")),
]

handler500 = "savegame.unavailable.server_error"  # a database that is down: 503 JSON on /hooks/ and /api/
