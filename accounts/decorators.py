"""Page guards for the organization site."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from accounts.models import User


def org_admin_required(view):
    """Leader pages: anonymous visitors go to /login/; a signed-in non-admin gets the same 404 as a
    missing page (the dashboard's existence is not theirs to probe)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.role != User.Role.ORG_ADMIN:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
