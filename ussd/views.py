"""Africa's Talking's callbacks on the platform host: entry points only (validate, route, answer).

- `POST /hooks/ussd/`: a USSD step; the answer is `text/plain` starting `CON ` (more to come) or
  `END ` (done). Africa's Talking shows any 200 answer to the member, so everything a member can
  cause gets a clear 200 screen; a request that is not Africa's Talking's (missing or malformed
  fields) gets 400, an unknown service code 404 (both counted by the /hooks/ limiter).
- `POST /hooks/sms/inbound/`: an incoming SMS; acted on once per provider id, replied to through the
  notifications outbox. Answers `200 OK` once stored.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from savegame.clientip import client_ip
from tenants.selectors import organization_for_channel_code
from ussd import flow, screens
from ussd.forms import InboundSmsForm, UssdCallbackForm
from ussd.screens import Screen

logger = logging.getLogger(__name__)


def _text(answer: Screen | str, status: int = 200) -> HttpResponse:
    body = answer.body if isinstance(answer, Screen) else answer
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def _enter(organization) -> None:
    """Switch the connection to the organization's schema (no new SET search_path when it is already there)."""
    if connection.schema_name == organization.schema_name and connection.include_public_schema:
        connection.tenant = organization
    else:
        connection.set_tenant(organization)


def _from_africastalking(request) -> bool:
    allowed = settings.AFRICASTALKING_ALLOWED_IPS
    return not allowed or client_ip(request) in allowed


@csrf_exempt
@require_POST
def ussd_callback(request):
    if not _from_africastalking(request):
        return _text(screens.no_such_service(), 403)
    form = UssdCallbackForm(request.POST)
    if not form.is_valid():
        logger.info("ussd callback refused", extra={"fields": sorted(form.errors)})
        with translation.override("en"):
            return _text(screens.bad_request(), 400)
    data = form.cleaned_data
    organization = organization_for_channel_code(channel="ussd", code=data["serviceCode"])
    if organization is None:
        with translation.override("en"):
            return _text(screens.no_such_service(), 404)
    _enter(organization)
    try:
        answer, outcome = flow.ussd_answer(
            organization=organization, session_id=data["sessionId"], service_code=data["serviceCode"],
            phone_number=data["phoneNumber"], text=data["text"], network_code=data["networkCode"])
    except Exception:  # a member must always get a screen: AT shows a 500 as a cryptic network error
        logger.exception("ussd step failed", extra={"schema": organization.schema_name})
        with translation.override(organization.language or "en"):
            return _text(screens.busy())
    logger.info("ussd step", extra={"schema": organization.schema_name, "outcome": outcome,
                                    "network_code": data["networkCode"]})
    return _text(answer)


@csrf_exempt
@require_POST
def sms_inbound(request):
    if not _from_africastalking(request):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    form = InboundSmsForm(request.POST)
    if not form.is_valid():
        logger.info("incoming sms refused", extra={"fields": sorted(form.errors)})
        return HttpResponse("Bad request: " + ", ".join(sorted(form.errors)), status=400, content_type="text/plain")
    data = form.cleaned_data
    organization = organization_for_channel_code(channel="sms", code=data["to"])
    if organization is None:
        return HttpResponse("Unknown shortcode", status=404, content_type="text/plain")
    _enter(organization)
    outcome = flow.sms_answer(
        organization=organization, provider_id=data["id"], sender=data["sender"], to=data["to"], text=data["text"],
        link_id=data["linkId"], network_code=data["networkCode"], sent_at=data["date"])
    logger.info("incoming sms", extra={"schema": organization.schema_name, "outcome": outcome,
                                       "network_code": data["networkCode"]})
    return HttpResponse("OK", content_type="text/plain")
