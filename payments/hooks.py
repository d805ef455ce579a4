"""Daraja callback endpoints: /hooks/pay/<token>/<kind path> on the organization's host.

Served by the lean hooks path (tenants.middleware.HooksMiddleware): no session, auth or CSRF work.
authenticate (path token; optional source-IP allow-list) -> validate the JSON (400, nothing stored)
-> store raw in the inbox (unique natural key: replays are no-ops) -> kick the drain (coalesced per process,
payments.kicks) -> answer at once.
Refusals are logged and recorded, bounded, for the admins (payments.platform.RefusedCallback).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import payloads
from payments.callback_checks import callback_refusal
from payments.kicks import inbox_kick_soon
from payments.models import CallbackInbox
from payments.platform.models import RefusedCallback
from payments.selectors import mpesa_token_valid
from payments.services import c2b_validate
from payments.inbox import callback_store
from savegame.clientip import client_ip
from savegame.metrics import CALLBACKS_RECEIVED, CALLBACKS_REFUSED, CALLBACKS_STORED, org_label, safe
from savegame.jsonbody import json_loads

logger = logging.getLogger("payments.callbacks")

ACCEPTED = b'{"ResultCode": 0, "ResultDesc": "Accepted"}'  # encoded once: JsonResponse re-encodes every time
MAX_BODY = 64 * 1024
Reason = RefusedCallback.Reason
KINDS = frozenset(CallbackInbox.Kind.values)


def _refuse(request, *, status: int, reason: str, kind: str, ip: str, detail: str = "",
            sender_proven: bool = False) -> JsonResponse:
    from payments.platform.services import callback_refusal_record

    answer = {403: "Forbidden", 404: "Not found"}.get(status) or f"Malformed payload: {detail}"[:200]
    logger.warning("callback refused", extra={"kind": kind, "reason": reason, "detail": detail[:200], "ip": ip,
                                              "status": status, "schema": connection.schema_name})
    safe(CALLBACKS_REFUSED.labels(org=org_label(), reason=reason).inc)
    callback_refusal_record(organization=request.tenant, kind=kind, reason=reason, status_code=status,
                            remote_ip=ip or None, body=request.body, detail=detail, sender_proven=sender_proven)
    return JsonResponse({"ResultCode": 1, "ResultDesc": answer}, status=status)


def _refuse_malformed(request, *, token: str, kind: str, ip: str, reason: str, detail: str) -> JsonResponse:
    """A body we cannot take: 400 for the organization's own sender, 404 for anyone without the secret."""
    if not mpesa_token_valid(token=token):
        return _refuse(request, status=404, reason=Reason.WRONG_TOKEN, kind=kind, ip=ip)
    return _refuse(request, status=400, reason=reason, kind=kind, ip=ip, detail=detail, sender_proven=True)


@csrf_exempt
@require_POST
def daraja_callback(request, token: str, kind: str):
    ip = client_ip(request)
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return HttpResponse(status=404)
    kind_label = kind if kind in KINDS else "unknown"
    safe(CALLBACKS_RECEIVED.labels(org=org_label(), kind=kind_label).inc)
    if settings.MPESA_ALLOWED_IPS and ip not in settings.MPESA_ALLOWED_IPS:
        return _refuse(request, status=403, reason=Reason.FORBIDDEN_IP, kind=kind, ip=ip)
    raw = request.body
    if len(raw) > MAX_BODY:
        return _refuse_malformed(request, token=token, kind=kind, ip=ip, reason=Reason.TOO_LARGE,
                                 detail=f"{len(raw)} bytes")
    try:
        body = json_loads(raw)  # deep nesting is a ValueError too
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _refuse_malformed(request, token=token, kind=kind, ip=ip, reason=Reason.BAD_JSON, detail=str(exc))
    refusal = callback_refusal(kind=kind, body=body, token=token)
    if refusal:
        return _refuse(request, status=400, reason=Reason.BAD_PAYLOAD, kind=kind, ip=ip, detail=refusal,
                       sender_proven=True)
    try:
        authorized, inbox_id = callback_store(kind=kind, body=body, token=token, remote_ip=ip or None, raw_body=raw)
    # DataError: JSON PostgreSQL refuses (e.g. \u0000); IntegrityError: a constraint refuses the content
    except (payloads.PayloadError, DataError, IntegrityError) as exc:
        return _refuse_malformed(request, token=token, kind=kind, ip=ip, reason=Reason.BAD_PAYLOAD, detail=str(exc))
    if not authorized:
        return _refuse(request, status=404, reason=Reason.WRONG_TOKEN, kind=kind, ip=ip)
    if inbox_id is not None:  # None: a replay of a row already stored
        safe(CALLBACKS_STORED.labels(org=org_label(), kind=kind_label).inc)
    if kind == "validation":
        accept, code = c2b_validate(body=body)
        if accept:
            return JsonResponse({"ResultCode": "0", "ResultDesc": "Accepted"})
        return JsonResponse({"ResultCode": code, "ResultDesc": "Rejected"})
    if inbox_id is not None:
        transaction.on_commit(inbox_kick_soon)  # at once in autocommit: the row is committed by now
    return HttpResponse(ACCEPTED, content_type="application/json")
