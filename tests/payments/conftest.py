"""Payments fixtures: Safaricom's real payload shapes, an eager Celery switch, callback helpers."""

from __future__ import annotations

import pytest

from accounts.phone import phone_sha256
from savegame.celery import app as celery_app


def c2b_payload(*, trans_id: str = "RKTQDM7W6S", amount="100.00", bill_ref: str = "", msisdn: str = "",
                shortcode: str = "600000", trans_time: str = "20261126094512") -> dict:
    """A C2B validation/confirmation body exactly as Daraja sends it (MSISDN hashed since 2024)."""
    return {
        "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": trans_time, "TransAmount": str(amount),
        "BusinessShortCode": shortcode, "BillRefNumber": bill_ref, "InvoiceNumber": "", "OrgAccountBalance": "",
        "ThirdPartyTransID": "", "MSISDN": msisdn or phone_sha256("+254799999999"),
        "FirstName": "John", "MiddleName": "", "LastName": "",
    }


def stk_success_payload(*, checkout: str, receipt: str, amount=100, phone: str = "254708374149",
                        merchant: str = "29115-34620561-1", when: int = 20261126102115) -> dict:
    return {"Body": {"stkCallback": {
        "MerchantRequestID": merchant, "CheckoutRequestID": checkout, "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": amount}, {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "TransactionDate", "Value": when}, {"Name": "PhoneNumber", "Value": int(phone)},
        ]},
    }}}


def stk_failure_payload(*, checkout: str, code: int = 1032, desc: str = "Request cancelled by user",
                        merchant: str = "29115-34620561-1") -> dict:
    return {"Body": {"stkCallback": {"MerchantRequestID": merchant, "CheckoutRequestID": checkout,
                                     "ResultCode": code, "ResultDesc": desc}}}


def status_result_payload(*, conversation: str, receipt: str, amount=100, status: str = "Completed",
                          debit: str = "254708374149 - John Doe", code=0) -> dict:
    params = [
        {"Key": "DebitPartyName", "Value": debit}, {"Key": "CreditPartyName", "Value": "600000 - Alpha Chama"},
        {"Key": "OriginatorConversationID", "Value": "3213-416199-2"}, {"Key": "InitiatedTime", "Value": 20261126094512},
        {"Key": "DebitAccountType", "Value": "MMF Account For Customer"}, {"Key": "DebitPartyCharges", "Value": ""},
        {"Key": "TransactionReason"}, {"Key": "ReasonType", "Value": "Pay Bill Online"},
        {"Key": "TransactionStatus", "Value": status}, {"Key": "FinalisedTime", "Value": 20261126094512},
        {"Key": "Amount", "Value": amount}, {"Key": "ConversationID", "Value": conversation},
        {"Key": "ReceiptNo", "Value": receipt},
    ]
    return {"Result": {"ResultType": 0, "ResultCode": code, "ResultDesc": "The service request is processed successfully.",
                       "OriginatorConversationID": "3213-416199-2", "ConversationID": conversation,
                       "TransactionID": "NLJ0000000", "ResultParameters": {"ResultParameter": params},
                       "ReferenceData": {"ReferenceItem": {"Key": "Occasion"}}}}


@pytest.fixture
def eager_celery():
    """Run tasks in-process (callbacks are still processed through the task, not called directly)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def mpesa(tenant):
    from payments.models import MpesaSettings

    return MpesaSettings.objects.get()


@pytest.fixture
def hook(client_for, org, mpesa, django_capture_on_commit_callbacks, eager_celery):
    """POST a Daraja body to one of `org`'s callback paths; on-commit work (scoring) runs too."""
    from payments.selectors import CALLBACK_PATHS

    def post(kind: str, body, *, token: str | None = None, organization=None, raw: bytes | None = None):
        client = client_for(organization or org)
        data = raw if raw is not None else __import__("json").dumps(body)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/hooks/pay/{token or mpesa.callback_token}/{CALLBACK_PATHS[kind]}", data=data,
                                   content_type="application/json")
        from django.db import connection

        connection.set_tenant(org)
        return response

    return post


@pytest.fixture
def live_org(committed_org):
    """A committed organization with one member, and its callback token (for live servers and workers)."""
    from django_tenants.utils import schema_context

    from accounts.services import user_create
    from payments.models import MpesaSettings

    with schema_context(committed_org.schema_name):
        member = user_create(phone_number="+254708111222", name="Live Saver")
        token = MpesaSettings.objects.get().callback_token
    return committed_org, member, token


def count_in(schema: str, model, **filters) -> int:
    """Rows of `model` matching `filters` in `schema` (from any thread)."""
    from django_tenants.utils import schema_context

    with schema_context(schema):
        return model.objects.filter(**filters).count()


@pytest.fixture
def published(monkeypatch):
    """Drain tasks published to the broker (recorded, not sent)."""
    from payments.tasks import inbox_drain_task

    sent: list[str] = []
    monkeypatch.setattr(inbox_drain_task, "apply_async",
                        lambda *a, **k: sent.append(f"drain {k.get('kwargs', {}).get('slot', 0)}"))
    return sent


@pytest.fixture
def member(tenant):
    from accounts.services import user_create

    return user_create(phone_number="+254708374149", name="Jane Saver")


@pytest.fixture
def scored(monkeypatch):
    """Every deposit the game scored (handed over through the one batch entry point,
    `challenges.services.deposits_score`, and new to its guard), in order."""
    import challenges.services

    calls: list[int] = []
    many = challenges.services.deposits_score

    def spy_many(*, transaction_ids) -> list[int]:
        fresh = many(transaction_ids=list(transaction_ids))
        calls.extend(fresh)
        return fresh

    monkeypatch.setattr(challenges.services, "deposits_score", spy_many)
    return calls
