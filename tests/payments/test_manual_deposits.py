"""Cash and bank deposits a leader records (issue 16.17): the same append-only ledger (source `manual`,
audited), scored like any deposit with the usual receipt, once per request key however often it is
sent, and above the organization's threshold only after a second leader approves (maker-checker)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import AuditEvent
from payments import services
from payments.models import ManualDeposit, MpesaSettings, Transaction
from tenants.calendar import local_today


@pytest.fixture
def second_admin(tenant):
    from accounts.services import user_create

    return user_create(phone_number="+254708000222", name="Second Leader", role="org_admin")


def _leader(client_for, org, user):
    client = client_for(org)
    client.force_login(user)
    return client


def _threshold(amount):
    services.mpesa_settings_init()
    MpesaSettings.objects.update(cash_second_approval_over=amount)


def test_a_recorded_cash_deposit_is_credited_scored_and_receipted(client_for, org, org_admin, member, tenant,
                                                                  django_capture_on_commit_callbacks):
    client = _leader(client_for, org, org_admin)
    page = client.get("/manage/transactions/record/").content.decode()
    key = page.split('name="request_key" value="', 1)[1].split('"', 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/manage/transactions/record/", {
            "request_key": key, "member": member.account_code.lower(), "amount": "1500", "method": "cash",
            "paid_on": local_today().isoformat(), "note": "Saturday meeting"}, follow=True)
    assert "credited to Jane Saver" in response.content.decode()
    connection.set_tenant(org)
    tx = Transaction.objects.get(source="manual", user=member)
    assert (tx.status, tx.amount) == ("verified", Decimal("1500.00"))
    row = ManualDeposit.objects.get(transaction=tx)
    assert (row.status, row.recorded_by, row.decided_by) == ("credited", org_admin, org_admin)
    assert set(AuditEvent.objects.filter(target_id=str(row.pk), action__startswith="manual_deposit.")
               .values_list("action", flat=True)) == {
        "manual_deposit.recorded", "manual_deposit.credited"}
    from challenges.models import ScoredDeposit
    from notifications.models import Notification

    assert ScoredDeposit.objects.filter(transaction=tx).exists()  # handed to the game like any deposit
    assert Notification.objects.filter(user=member, template="deposit_confirmed").count() == 1  # the receipt
    from payments.selectors import member_savings

    assert member_savings(user=member)["total_saved"] == Decimal("1500.00")


def test_the_same_form_sent_twice_and_at_once_records_once(org, org_admin, member, tenant, django_db_blocker):
    today = local_today()
    first, created = services.manual_deposit_record(request_key="k-1", user=member, amount=500, paid_on=today,
                                                    actor=org_admin)
    again, created_again = services.manual_deposit_record(request_key="k-1", user=member, amount=500, paid_on=today,
                                                          actor=org_admin)
    assert created and not created_again and first.pk == again.pk
    assert Transaction.objects.filter(source="manual").count() == 1


def test_concurrent_duplicates_record_once(committed_org):
    """Four submits of one form at the same moment (a double tap on a slow phone): one deposit."""
    from django.db import connections
    from django_tenants.utils import schema_context

    from accounts.models import User
    from accounts.services import user_create

    with schema_context(committed_org.schema_name):
        admin = User.objects.get(role="org_admin")
        member = user_create(phone_number="+254708111333", name="Race Member")
    barrier, results, errors = threading.Barrier(4), [], []

    def submit():
        try:
            with schema_context(committed_org.schema_name):
                barrier.wait(timeout=10)
                results.append(services.manual_deposit_record(request_key="race-1", user=member, amount=700,
                                                              paid_on=local_today(), actor=admin)[1])
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    [t.start() for t in threads]
    [t.join(timeout=60) for t in threads]
    assert errors == []
    assert sorted(results) == [False, False, False, True]
    with schema_context(committed_org.schema_name):
        assert Transaction.objects.filter(source="manual", user=member).count() == 1
        assert ManualDeposit.objects.filter(request_key="race-1").count() == 1


def test_above_the_threshold_a_second_leader_must_approve(client_for, org, org_admin, second_admin, member, tenant):
    _threshold(Decimal("5000"))
    row, _ = services.manual_deposit_record(request_key="big-1", user=member, amount=8000, paid_on=local_today(),
                                            actor=org_admin, method="bank")
    assert row.status == "pending" and not Transaction.objects.filter(source="manual").exists()
    html = _leader(client_for, org, org_admin).get("/manage/transactions/record/").content.decode()
    assert "Another leader must approve it." in html and "Approve and credit" not in html
    response = _leader(client_for, org, org_admin).post("/manage/transactions/record/",
                                                        {"action": "approve", "deposit": row.pk}, follow=True)
    assert "Another leader must approve a deposit you recorded." in response.content.decode()
    connection.set_tenant(org)
    assert not Transaction.objects.filter(source="manual").exists()

    response = _leader(client_for, org, second_admin).post("/manage/transactions/record/",
                                                           {"action": "approve", "deposit": row.pk}, follow=True)
    assert "KES 8,000.00 credited to Jane Saver." in response.content.decode()
    connection.set_tenant(org)
    row.refresh_from_db()
    assert (row.status, row.decided_by) == ("credited", second_admin)
    assert Transaction.objects.get(source="manual").amount == Decimal("8000.00")
    with pytest.raises(Exception, match="not waiting"):
        services.manual_deposit_approve(deposit_id=row.pk, actor=second_admin)  # a second click credits nothing
    assert Transaction.objects.filter(source="manual").count() == 1


def test_a_rejected_deposit_credits_nothing(org, org_admin, second_admin, member, tenant):
    _threshold(Decimal("1000"))
    row, _ = services.manual_deposit_record(request_key="big-2", user=member, amount=3000, paid_on=local_today(),
                                            actor=org_admin)
    services.manual_deposit_reject(deposit_id=row.pk, actor=second_admin, reason="counted twice")
    row.refresh_from_db()
    assert row.status == "rejected" and "counted twice" in row.note
    assert not Transaction.objects.filter(source="manual").exists()
    assert AuditEvent.objects.filter(action="manual_deposit.rejected", target_id=str(row.pk)).exists()


def test_a_backdated_deposit_counts_on_the_day_it_was_paid(org, org_admin, member, tenant):
    from tenants.calendar import local_date, organization_zone

    day = local_today() - timedelta(days=3)
    row, _ = services.manual_deposit_record(request_key="old-1", user=member, amount=200, paid_on=day, actor=org_admin)
    assert local_date(row.transaction.transacted_at, organization_zone()) == day


@pytest.mark.parametrize("field, value, expected", [
    ("amount", "0", "amount"), ("amount", "9999999", "amount"),
    ("paid_on", "future", "paid_on"), ("paid_on", "ancient", "paid_on"), ("member", "NOPE99", "member")])
def test_bad_input_is_named_on_the_form_and_records_nothing(client_for, org, org_admin, member, tenant,
                                                            field, value, expected):
    today = local_today()
    data = {"request_key": f"bad-{field}-{value}", "member": member.account_code, "amount": "500", "method": "cash",
            "paid_on": today.isoformat()}
    data[field] = {"future": (today + timedelta(days=1)).isoformat(),
                   "ancient": (today - timedelta(days=40)).isoformat()}.get(value, value)
    response = _leader(client_for, org, org_admin).post("/manage/transactions/record/", data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(expected)
    connection.set_tenant(org)
    assert not ManualDeposit.objects.exists() and not Transaction.objects.filter(source="manual").exists()


def test_the_api_records_once_per_idempotency_key_and_names_bad_input(api_client_for, org, org_admin, second_admin,
                                                                      member, tenant):
    _threshold(Decimal("5000"))
    api = api_client_for(org)
    api.force_authenticate(org_admin)
    body = {"user": member.pk, "amount": "6000", "paid_on": local_today().isoformat(), "method": "bank"}
    missing = api.post("/api/v1/manual-deposits", body, format="json")
    assert missing.status_code == 400 and "Idempotency-Key" in missing.json()
    bad = api.post("/api/v1/manual-deposits", {**body, "method": "goats"}, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert bad.status_code == 400 and "method" in bad.json()
    first = api.post("/api/v1/manual-deposits", body, format="json", HTTP_IDEMPOTENCY_KEY="a2")
    again = api.post("/api/v1/manual-deposits", body, format="json", HTTP_IDEMPOTENCY_KEY="a2")
    assert (first.status_code, again.status_code) == (201, 200) and first.json()["id"] == again.json()["id"]
    assert first.json()["status"] == "pending"
    assert api.get("/api/v1/manual-deposits", {"status": "nope"}).status_code == 400
    assert [r["id"] for r in api.get("/api/v1/manual-deposits", {"status": "pending"}).json()] == [first.json()["id"]]
    own = api.post(f"/api/v1/manual-deposits/{first.json()['id']}/approve")
    assert own.status_code == 400
    api.force_authenticate(second_admin)
    done = api.post(f"/api/v1/manual-deposits/{first.json()['id']}/approve")
    assert done.status_code == 200 and done.json()["status"] == "credited" and done.json()["transaction"]


def test_members_cannot_record_deposits(api_client_for, org, member, tenant):
    api = api_client_for(org)
    api.force_authenticate(member)
    response = api.post("/api/v1/manual-deposits", {"user": member.pk, "amount": "500",
                                                    "paid_on": local_today().isoformat()},
                        format="json", HTTP_IDEMPOTENCY_KEY="m1")
    assert response.status_code == 403
    assert not ManualDeposit.objects.exists()


def test_the_same_deposit_again_within_minutes_needs_a_confirmation(org, org_admin, member, tenant):
    """A second form for the same member, amount and day (Back and submit): asked, not silently doubled."""
    from django.core.exceptions import ValidationError

    today = local_today()
    services.manual_deposit_record(request_key="r-1", user=member, amount=400, paid_on=today, actor=org_admin)
    with pytest.raises(ValidationError) as refused:
        services.manual_deposit_record(request_key="r-2", user=member, amount=400, paid_on=today, actor=org_admin)
    assert "confirm_repeat" in refused.value.message_dict
    assert Transaction.objects.filter(source="manual").count() == 1
    services.manual_deposit_record(request_key="r-2", user=member, amount=400, paid_on=today, actor=org_admin,
                                   confirm_repeat=True)
    services.manual_deposit_record(request_key="r-3", user=member, amount=450, paid_on=today, actor=org_admin)
    assert Transaction.objects.filter(source="manual").count() == 3
