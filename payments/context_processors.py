"""`save_open` for every page: whether Save now works here yet (payments.selectors.mpesa_ready).

Lazy, so pages that never show Save now (the leader's, the platform's) never read it; cached in the
tenant's cache for the rest (issue 16 item 21: no Save now before the organization's M-Pesa works).
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def save_now(request):
    tenant = getattr(request, "tenant", None)
    if tenant is None or getattr(tenant, "is_public", True):
        return {"save_open": False}

    def ready() -> bool:
        from django.db import connection
        from django_tenants.utils import schema_context

        from payments.selectors import mpesa_ready

        if connection.schema_name == tenant.schema_name:
            return mpesa_ready()
        # an error page (a 404 under ASGI) is rendered on another thread's connection, still on public
        with schema_context(tenant.schema_name):
            return mpesa_ready()

    return {"save_open": SimpleLazyObject(ready)}
