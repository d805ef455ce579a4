"""Africa's Talking through its official SDK (`africastalking`): bulk SMS and WhatsApp.

The SDK builds every request (URL, form/JSON body, headers, phone validation). We change only the
edge: the base URL (AFRICASTALKING_API_URL / AFRICASTALKING_CHAT_URL, for a local stand-in in
tests and benchmarks) and the transport, which keeps the HTTP status (the SDK's own error carries
only the body, and we must tell a provider 5xx, worth a retry, from a 4xx, which is not) and reuses
one keep-alive connection per process.
"""

from __future__ import annotations

import logging
import threading

import requests
from africastalking.Service import DEFAULT_TIMEOUT_S
from africastalking.SMS import SMSService
from africastalking.Whatsapp import WhatsappService
from django.conf import settings
from django.db import connection

from notifications.backends import SmsMessage, SmsResult

logger = logging.getLogger(__name__)

# Per-recipient statusCode in the SMS response (Africa's Talking docs).
SENT_CODES = {100, 101, 102}  # Processed, Sent, Queued
BLACKLIST_CODE = 406  # UserInBlacklist: the member opted out at the network
TRANSIENT_CODES = {500, 501, 502}  # InternalServerError, GatewayError, RejectedByGateway


class ProviderError(Exception):
    pass


class TransientProviderError(ProviderError):
    """Network failure or a provider 5xx / 429: retry with backoff."""


class PermanentProviderError(ProviderError):
    """A 4xx (bad credentials, bad request): retrying would fail the same way."""


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


class _Transport:
    """Replaces the SDK's module-level requests.get/post, keeping the status code."""

    def _make_request(self, url, method, headers, data, params, callback=None, timeout=DEFAULT_TIMEOUT_S):
        try:
            response = _session().request(method.upper(), url, headers=headers, data=data, params=params, timeout=timeout)
        except requests.RequestException as exc:
            raise TransientProviderError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientProviderError(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code >= 400:
            raise PermanentProviderError(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise TransientProviderError(f"unreadable response: {response.text[:200]}") from exc


class SmsClient(_Transport, SMSService):
    def _init_service(self):
        super()._init_service()
        if settings.AFRICASTALKING_API_URL:
            self._baseUrl = settings.AFRICASTALKING_API_URL.rstrip("/") + "/version1"


class WhatsappClient(_Transport, WhatsappService):
    def _init_service(self):
        super()._init_service()
        if settings.AFRICASTALKING_CHAT_URL:
            self._baseUrl = settings.AFRICASTALKING_CHAT_URL.rstrip("/")


def credentials_for_current_schema():
    """(username, api_key, sender_id, whatsapp_number) of the current org, else the platform account."""
    from notifications.models import SmsSettings

    row = None
    if connection.schema_name != settings.PUBLIC_SCHEMA_NAME:
        row = SmsSettings.objects.first()
    if row is not None and row.username and row.api_key:
        return row.username, row.api_key, row.sender_id or None, row.whatsapp_number
    from notifications.selectors import current_organization

    org = current_organization() if connection.schema_name != settings.PUBLIC_SCHEMA_NAME else None
    branded_sender = org.brand("sms_sender_id") if hasattr(org, "brand") else ""
    return (settings.AFRICASTALKING_USERNAME, settings.AFRICASTALKING_API_KEY,
            (row.sender_id if row else "") or branded_sender or settings.AFRICASTALKING_SENDER_ID,
            (row.whatsapp_number if row else "") or settings.AFRICASTALKING_WHATSAPP_NUMBER)


class AfricasTalkingBackend:
    """Bulk SMS: messages with the same text go out in one request of up to
    AFRICASTALKING_MAX_RECIPIENTS numbers. Raises TransientProviderError / PermanentProviderError
    for a failed request; per-recipient outcomes come back as SmsResult."""

    def send(self, messages: list[SmsMessage], *, sender_id: str = "", credentials=None) -> list[SmsResult]:
        username, api_key, default_sender, _wa = credentials or credentials_for_current_schema()
        if not username or not api_key:
            raise PermanentProviderError("Africa's Talking is not configured for this organization")
        client = SmsClient(username, api_key)
        sender = sender_id or default_sender or None
        by_text: dict[str, list[str]] = {}
        for msg in messages:
            by_text.setdefault(msg.message, []).append(msg.to)
        outcome: dict[tuple[str, str], SmsResult] = {}
        step = settings.AFRICASTALKING_MAX_RECIPIENTS
        for text, numbers in by_text.items():
            unique = list(dict.fromkeys(numbers))
            for start in range(0, len(unique), step):
                chunk = unique[start:start + step]
                payload = client.send(text, chunk, sender_id=sender)
                recipients = (payload.get("SMSMessageData") or {}).get("Recipients") or []
                seen = set()
                for rec in recipients:
                    number = rec.get("number", "")
                    seen.add(number)
                    code = int(rec.get("statusCode", 0) or 0)
                    outcome[(text, number)] = SmsResult(
                        to=number, ok=code in SENT_CODES, provider_id=rec.get("messageId") or "",
                        error="" if code in SENT_CODES else f"{code} {rec.get('status', '')}".strip(),
                        cost=rec.get("cost") or "",
                    )
                for number in chunk:
                    if number not in seen:
                        summary = (payload.get("SMSMessageData") or {}).get("Message", "")
                        outcome[(text, number)] = SmsResult(to=number, ok=False, error=f"not accepted: {summary}"[:200])
        return [outcome[(m.message, m.to)] for m in messages]


def whatsapp_send(*, to: str, message: str, credentials=None) -> SmsResult:
    """One WhatsApp text message (session message) through the SDK."""
    username, api_key, _sender, wa_number = credentials or credentials_for_current_schema()
    if not username or not api_key or not wa_number:
        raise PermanentProviderError("WhatsApp is not configured for this organization")
    payload = WhatsappClient(username, api_key).send({"message": message}, wa_number, to)
    message_id = ""
    if isinstance(payload, dict):
        message_id = payload.get("messageId") or payload.get("id") or (payload.get("data") or {}).get("messageId", "")
        status = str(payload.get("status", "")).lower()
        if status and status not in ("success", "sent", "queued", "submitted"):
            return SmsResult(to=to, ok=False, error=str(payload.get("errorMessage") or status)[:200])
    return SmsResult(to=to, ok=True, provider_id=str(message_id))
