"""Africa's Talking, played locally: a USSD session and an incoming SMS posted to the running app
exactly as AT posts them (form-encoded, to the platform host). Used by `manage.py ussd_session` and
`manage.py sms_inbound`, and by bench/ussd.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import requests

SAFARICOM = "63902"  # Africa's Talking's networkCode for Safaricom Kenya


@dataclass
class UssdDriver:
    """One USSD session: `dial()`, then `send(value)` per input; each returns AT's answer (`CON ...`/`END ...`)."""

    url: str  # http://localhost:8000/hooks/ussd/
    service_code: str
    phone_number: str
    network_code: str = SAFARICOM
    timeout: float = 10.0
    session_id: str = field(default_factory=lambda: f"ATUid_{uuid.uuid4().hex}")
    inputs: list[str] = field(default_factory=list)
    http: requests.Session = field(default_factory=requests.Session)

    def payload(self) -> dict:
        return {"sessionId": self.session_id, "serviceCode": self.service_code, "phoneNumber": self.phone_number,
                "text": "*".join(self.inputs), "networkCode": self.network_code}

    def _post(self) -> str:
        response = self.http.post(self.url, data=self.payload(), timeout=self.timeout)
        text = response.text
        if response.status_code != 200:
            return f"END [{response.status_code}] {text}"
        return text

    def dial(self) -> str:
        self.inputs = []
        return self._post()

    def send(self, value: str) -> str:
        self.inputs.append(value)
        return self._post()


def sms_post(*, url: str, sender: str, to: str, text: str, network_code: str = SAFARICOM,
             timeout: float = 10.0) -> tuple[int, str, str]:
    """POST one incoming SMS as Africa's Talking does. Returns (status, body, the message id used)."""
    message_id = f"ATXid_{uuid.uuid4().hex[:24]}"
    data = {"from": sender, "to": to, "text": text, "date": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "id": message_id, "linkId": uuid.uuid4().hex, "networkCode": network_code}
    response = requests.post(url, data=data, timeout=timeout)
    return response.status_code, response.text, message_id


def default_base_url() -> str:
    from django.conf import settings

    port = f":{settings.SITE_PORT}" if settings.SITE_PORT and settings.SITE_PORT not in ("80", "443") else ""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{port}"
