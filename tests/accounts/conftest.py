"""Helpers for identity tests: drive the OTP flow over HTTP and read codes from the SMS file."""

from __future__ import annotations

import re

import pytest

CODE_RE = re.compile(r"\b(\d{6})\b")


def code_from(message: dict) -> str:
    match = CODE_RE.search(message["message"])
    assert match, message
    return match.group(1)


@pytest.fixture
def login(api_client_for, sms_outbox):
    """Log `phone` in on `organization` over HTTP; returns the verify-otp JSON."""

    def run(organization, phone: str) -> dict:
        client = api_client_for(organization)
        sent = client.post("/api/v1/auth/send-otp", {"phone_number": phone}, format="json")
        assert sent.status_code == 202, sent.content
        code = code_from([m for m in sms_outbox() if m["to"] == phone][-1])
        verified = client.post("/api/v1/auth/verify-otp", {"phone_number": phone, "code": code}, format="json")
        assert verified.status_code == 200, verified.content
        return verified.json()

    return run
