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
    from payments.selectors import mpesa_ready

    return {"save_open": SimpleLazyObject(mpesa_ready)}
