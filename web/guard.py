"""Default-deny for the leader dashboard: everything under /manage/ is for this organization's
org_admins only, whichever app serves the page (views still check for themselves)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.views.defaults import permission_denied

MANAGE_PREFIX = "/manage/"


class ManageAccessMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(MANAGE_PREFIX):
            user = getattr(request, "user", None)
            if user is None or not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not getattr(user, "is_org_admin", False):
                refusal = PermissionDenied(_("Only this group's leaders can open the dashboard."))
                return permission_denied(request, refusal)
        return self.get_response(request)
