"""Daraja callback endpoints: /hooks/pay/<token>/<kind path> on the organization's host.

authenticate (path token; optional source-IP allow-list) -> validate the JSON (400, nothing stored)
-> store raw in the inbox (unique natural key: replays are no-ops) -> kick the drain -> answer at once.
"""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments import payloads
from payments.services import c2b_validate, callback_store, inbox_kick
from savegame.clientip import client_ip

logger = logging.getLogger("payments.callbacks")

ACCEPTED = {"ResultCode": 0, "ResultDesc": "Accepted"}
MAX_BODY = 64 * 1024


def _refuse(status: int, reason: str, kind: str, ip: str) -> JsonResponse:
    logger.warning("callback refused", extra={"kind": kind, "reason": reason, "ip": ip, "status": status,
                                              "schema": connection.schema_name})
    return JsonResponse({"ResultCode": 1, "ResultDesc": reason}, status=status)


@csrf_exempt
@require_POST
def daraja_callback(request, token: str, kind: str):
    ip = client_ip(request)
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == settings.PUBLIC_SCHEMA_NAME:
        return HttpResponse(status=404)
    if settings.MPESA_ALLOWED_IPS and ip not in settings.MPESA_ALLOWED_IPS:
        return _refuse(403, "Forbidden", kind, ip)
    if len(request.body) > MAX_BODY:
        return _refuse(400, "Body too large", kind, ip)
    try:
        body = json.loads(request.body)
        authorized, inbox_id = callback_store(kind=kind, body=body, token=token, remote_ip=ip or None)
    except (ValueError, payloads.PayloadError) as exc:  # JSONDecodeError is a ValueError
        return _refuse(400, f"Malformed payload: {exc}"[:200], kind, ip)
    if not authorized:
        return _refuse(404, "Not found", kind, ip)
    if kind == "validation":
        accept, code = c2b_validate(body=body)
        if accept:
            return JsonResponse({"ResultCode": "0", "ResultDesc": "Accepted"})
        return JsonResponse({"ResultCode": code, "ResultDesc": "Rejected"})
    if inbox_id is not None:
        transaction.on_commit(inbox_kick)  # at once in autocommit: the row is committed by now
    return JsonResponse(ACCEPTED)
