"""SMS backends, chosen by SMS_BACKEND: `console`, `file` (JSON lines, CONTRACT.md) or `africastalking`.

Like Django's email backends: dev and tests read messages without a phone.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    message: str
    organization: str  # the organization's slug


@dataclass(frozen=True)
class SmsResult:
    to: str
    ok: bool
    provider_id: str = ""
    error: str = ""
    cost: str = ""


class ConsoleBackend:
    def send(self, messages: list[SmsMessage], *, sender_id: str = "", credentials=None) -> list[SmsResult]:
        for msg in messages:
            sys.stdout.write(f"[sms to {msg.to} from {msg.organization}] {msg.message}\n")
        sys.stdout.flush()
        if settings.DEBUG:  # `make run`: also in SMS_FILE_PATH, where `make smoke` reads its login code
            FileBackend().send(messages)
        return [SmsResult(to=m.to, ok=True, provider_id="console") for m in messages]


class FileBackend:
    """Appends one JSON line per SMS to SMS_FILE_PATH (safe across processes)."""

    def send(self, messages: list[SmsMessage], *, sender_id: str = "", credentials=None) -> list[SmsResult]:
        lines = "".join(
            json.dumps(
                {"to": m.to, "message": m.message, "organization": m.organization,
                 "sent_at": timezone.now().isoformat()},
                ensure_ascii=False,
            ) + "\n"
            for m in messages
        )
        with open(settings.SMS_FILE_PATH, "a", encoding="utf-8") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(lines)
            fcntl.flock(fh, fcntl.LOCK_UN)
        return [SmsResult(to=m.to, ok=True, provider_id="file") for m in messages]


BACKENDS = {
    "console": "notifications.backends.ConsoleBackend",
    "file": "notifications.backends.FileBackend",
    "africastalking": "notifications.africastalking.AfricasTalkingBackend",
}


def get_sms_backend():
    path = BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    return import_string(path)()
