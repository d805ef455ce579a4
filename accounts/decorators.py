"""Page guards for the organization site.

`org_admin_required` is the one guard for leader pages, the same answer as the /manage/ guard
(web/guard.py): anonymous visitors go to the login page; a signed-in member gets the friendly 403
page ("Only this group's leaders can open the dashboard."). Objects inside a page are looked up
with `access_*` helpers, which answer 404 alike for missing and forbidden.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

def org_admin_required(view):
    """Leader pages: anonymous -> login; signed in but not this organization's org_admin -> 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not getattr(user, "is_org_admin", False):
            raise PermissionDenied(_("Only this group's leaders can open the dashboard."))
        return view(request, *args, **kwargs)

    return wrapper
