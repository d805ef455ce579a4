"""The platform console's password login (Django admin on the public host), in the audit log.

django-axes counts failures and locks out (settings: AXES_*); these receivers write every attempt,
success and lockout to the public schema's AuditEvent table, so the platform owner can see a
guessing run. Member and leader logins use phone codes (accounts.otp) and are not recorded here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from savegame.clientip import client_ip


def _on_public_host() -> bool:
    return getattr(connection, "schema_name", settings.PUBLIC_SCHEMA_NAME) == settings.PUBLIC_SCHEMA_NAME


def _record(*, action: str, request, username: str, actor=None) -> None:
    from accounts.services import audit_record

    if request is None or not _on_public_host():
        return
    audit_record(actor=actor, action=action, actor_label=(username or "")[:120] or "unknown",
                 ip_address=client_ip(request) or None, after={"path": request.path[:200]})


def on_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    _record(action="admin.login_failed", request=request, username=(credentials or {}).get("username", ""))


def on_logged_in(sender, request=None, user=None, **kwargs) -> None:
    if user is not None and user.is_staff:
        _record(action="admin.login", request=request, username=str(user), actor=user)


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    _record(action="admin.locked_out", request=request, username=username or "")


def connect() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.admin_login.failed")
    user_logged_in.connect(on_logged_in, dispatch_uid="accounts.admin_login.in")
    user_locked_out.connect(on_locked_out, dispatch_uid="accounts.admin_login.locked")
