"""Feature-phone fixtures: Africa's Talking's real form-encoded payloads posted to the platform host."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

SERVICE_CODE = "*384*123#"
SHORTCODE = "22384"
PHONE = "+254708374149"  # the Daraja sandbox test number the simulator fixtures use
_ids = itertools.count(1)


@pytest.fixture
def feature_org(tenant, org):
    """`org` owning a USSD code and an SMS shortcode (set through tenants' own service)."""
    from tenants.services import organization_update

    organization_update(organization=org, data={"ussd_service_code": SERVICE_CODE, "sms_shortcode": SHORTCODE})
    connection.set_tenant(org)
    return org


@pytest.fixture
def saver(feature_org):
    from accounts.services import user_create

    return user_create(phone_number=PHONE, name="Jane Saver")


@pytest.fixture
def live_challenge(feature_org, org_admin):
    """A fixed-amount challenge running today (so members can join and save towards it)."""
    from challenges.services import challenge_create, local_today

    def make(name: str = "December Sprint", days: int = 28):
        challenge = challenge_create(actor=org_admin, name=name, type="fixed_amount",
                                     target={"amount": "100", "frequency": "weekly"}, duration_days=days,
                                     start_date=local_today() - timedelta(days=1), status="draft")
        challenge.status = "active"
        challenge.save(update_fields=["status"])
        return challenge

    return make


class UssdPhone:
    """Plays a USSD session as Africa's Talking does: every step POSTs the inputs so far joined by `*`."""

    def __init__(self, *, phone: str = PHONE, service_code: str = SERVICE_CODE, network_code: str = "63902",
                 on_commit=None):
        self.phone, self.service_code, self.network_code = phone, service_code, network_code
        self.client = Client(HTTP_HOST="localhost")
        self.on_commit = on_commit
        self.session_id = self.inputs = None
        self.screens: list[str] = []

    def payload(self, text: str) -> dict:
        return {"sessionId": self.session_id, "serviceCode": self.service_code, "phoneNumber": self.phone,
                "text": text, "networkCode": self.network_code}

    def post(self, data: dict):
        if self.on_commit is not None:
            with self.on_commit(execute=True):
                response = self.client.post("/hooks/ussd/", data)
        else:
            response = self.client.post("/hooks/ussd/", data)
        return response

    def dial(self) -> str:
        self.session_id, self.inputs = f"ATUid_{uuid.uuid4().hex}", []
        return self._send()

    def press(self, value: str) -> str:
        self.inputs.append(value)
        return self._send()

    def _send(self) -> str:
        response = self.post(self.payload("*".join(self.inputs)))
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        body = response.content.decode()
        assert body.startswith(("CON ", "END ")), body
        self.screens.append(body)
        return body

    def run(self, *presses: str) -> str:
        body = self.dial()
        for value in presses:
            body = self.press(value)
        return body


@pytest.fixture
def ussd_phone(feature_org, django_capture_on_commit_callbacks):
    made = []

    def make(**kwargs) -> UssdPhone:
        phone = UssdPhone(on_commit=django_capture_on_commit_callbacks, **kwargs)
        made.append(phone)
        return phone

    yield make
    for phone in made:  # the bound every screen must keep, whatever the test was about
        for body in phone.screens:
            assert len(body) < 160, (len(body), body)
        connection.set_tenant(feature_org)


def sms_payload(*, text: str, sender: str = PHONE, to: str = SHORTCODE, network_code: str = "63902",
                provider_id: str | None = None) -> dict:
    """Africa's Talking's incoming-SMS callback body (form-encoded)."""
    return {"from": sender, "to": to, "text": text, "date": "2026-12-04 18:45:12",
            "id": provider_id or f"ATXid_{uuid.uuid4().hex[:20]}", "linkId": f"SampleLinkId{next(_ids)}",
            "networkCode": network_code}


@pytest.fixture
def sms_in(feature_org, django_capture_on_commit_callbacks):
    client = Client(HTTP_HOST="localhost")

    def send(text: str, **kwargs):
        data = sms_payload(text=text, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/hooks/sms/inbound/", data)
        connection.set_tenant(feature_org)
        return response

    return send


def replies(member) -> list[str]:
    """The SMS replies queued for `member` through the notifications outbox, oldest first."""
    from notifications.models import Notification

    return list(Notification.objects.filter(user=member, template="sms_reply").order_by("pk")
                .values_list("message", flat=True))


# Daraja's stand-in and the payments fixtures (eager Celery, callbacks posted like Daraja's).
from tests.payments.conftest import eager_celery, hook, mpesa, scored  # noqa: E402,F401


@pytest.fixture
def simulator(settings):
    from payments.simulator import DarajaSimulator
    from tests.payments.live import free_port

    sim = DarajaSimulator("127.0.0.1", 0, delay=0.1, cancel_rate=0, duplicate_rate=0, drop_rate=0,
                          out_of_order_rate=0).start()
    settings.MPESA_SIMULATOR_URL = sim.url
    settings.SITE_PORT = str(free_port())  # its own callbacks go nowhere: the test posts them (hook)
    yield sim
    sim.stop()


@pytest.fixture
def deposit(feature_org):
    """A verified deposit scored through the gamification seam, as payments would record it."""
    from decimal import Decimal

    from django.utils import timezone

    from challenges.services import deposit_score
    from payments.models import Transaction

    def make(user, amount, challenge=None):
        number = next(_ids)
        now = timezone.now()
        receipt = f"USD{number:07d}"
        tx = Transaction.objects.create(user=user, challenge=challenge, amount=Decimal(str(amount)), status="verified",
                                        source="c2b", transaction_id=receipt, mpesa_receipt=receipt,
                                        transacted_at=now, verified_at=now)
        deposit_score(transaction_id=tx.pk)
        return tx

    return make
