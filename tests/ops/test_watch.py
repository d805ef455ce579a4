"""Suspicious patterns: each rule trips on what it is for and stays quiet on ordinary saving."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone

from accounts.phone import phone_sha256
from payments.models import Transaction, TransactionStatusChange
from payments.watch.models import Finding, WatchSettings
from payments.watch.services import deposits_check, nightly_check, thresholds_for

_receipts = count(1)


def _member(phone: str, name: str = "Saver"):
    from accounts.services import user_create

    return user_create(phone_number=phone, name=name)


def _deposit(user, amount, *, payer: str | None = None, ago: timedelta = timedelta(0), status="verified",
             source="c2b") -> Transaction:
    import time_machine

    receipt = f"RKW{next(_receipts):07d}"
    with time_machine.travel(timezone.now() - ago, tick=False):  # the ledger refuses edits, even of dates
        return Transaction.objects.create(source=source, amount=Decimal(str(amount)), user=user, status=status,
                                          transaction_id=receipt, mpesa_receipt=receipt,
                                          phone_number=payer or phone_sha256(user.phone_number),
                                          verified_at=timezone.now() if user else None)


def _rules(found) -> list[str]:
    return sorted(f.rule for f in found)


@pytest.fixture
def saver(tenant):
    return _member("+254701000001", "Wanjiru")


# --- one phone paying into many accounts ---

def test_one_payer_phone_into_four_accounts_trips(tenant):
    payer = phone_sha256("+254799000111")
    last = None
    for i in range(4):
        last = _deposit(_member(f"+25470200000{i}"), 200, payer=payer)
    found = deposits_check(transaction_ids=[last.pk])
    assert _rules(found) == ["shared_payer"]
    assert found[0].details["accounts"] == 4
    assert deposits_check(transaction_ids=[last.pk]) == []  # evaluated again: no duplicate


def test_a_parent_paying_for_three_children_does_not(tenant):
    payer = phone_sha256("+254799000111")
    last = None
    for i in range(3):
        last = _deposit(_member(f"+25470200000{i}"), 200, payer=payer)
    assert deposits_check(transaction_ids=[last.pk]) == []


# --- a deposit far above the member's own history ---

def test_ten_times_the_median_and_above_the_floor_trips(saver):
    for days in (10, 20, 30):
        _deposit(saver, 1000, ago=timedelta(days=days))
    big = _deposit(saver, 12_000)
    found = deposits_check(transaction_ids=[big.pk])
    assert _rules(found) == ["outsized_deposit"]
    assert found[0].details["median_90d"] == "1000.00"


def test_ten_times_a_small_median_below_the_floor_does_not(saver):
    for days in (10, 20, 30):
        _deposit(saver, 100, ago=timedelta(days=days))
    assert deposits_check(transaction_ids=[_deposit(saver, 1_500).pk]) == []


def test_a_big_first_deposit_without_history_does_not(saver):
    _deposit(saver, 1000, ago=timedelta(days=10))
    assert deposits_check(transaction_ids=[_deposit(saver, 50_000).pk]) == []


# --- many small deposits in a short window ---

def test_ten_small_deposits_in_an_hour_trip(saver):
    last = None
    for minutes in range(10):
        last = _deposit(saver, 10, ago=timedelta(minutes=50 - minutes * 5))
    assert _rules(deposits_check(transaction_ids=[last.pk])) == ["deposit_burst"]


def test_small_deposits_spread_over_days_do_not(saver):
    last = None
    for day in range(10):
        last = _deposit(saver, 10, ago=timedelta(days=day))
    assert deposits_check(transaction_ids=[last.pk]) == []


# --- deposits followed by reversals ---

def test_two_reversals_in_a_month_trip(saver, org_admin):
    from payments.services import transaction_reverse

    first, second = _deposit(saver, 500), _deposit(saver, 700)
    transaction_reverse(transaction_id=first.pk, reason="customer dispute", actor=org_admin)
    assert deposits_check(transaction_ids=[first.pk]) == []
    transaction_reverse(transaction_id=second.pk, reason="customer dispute", actor=org_admin)
    assert _rules(deposits_check(transaction_ids=[second.pk])) == ["reversals"]


def test_one_reversal_does_not(saver, org_admin):
    from payments.services import transaction_reverse

    tx = _deposit(saver, 500)
    transaction_reverse(transaction_id=tx.pk, reason="typo", actor=org_admin)
    assert deposits_check(transaction_ids=[tx.pk]) == []


# --- an admin assigning many unmatched payments to one member ---

def _assign_unmatched(member, admin, n: int) -> Transaction:
    from payments.services import transaction_assign

    tx = None
    for _i in range(n):
        tx = _deposit(None, 300, payer=phone_sha256("+254799555000"), status="unmatched")
        tx = transaction_assign(transaction_id=tx.pk, user=member, actor=admin)
    return tx


def test_five_assignments_to_one_member_trip(saver, org_admin):
    tx = _assign_unmatched(saver, org_admin, 5)
    found = deposits_check(transaction_ids=[tx.pk])
    assert _rules(found) == ["admin_assignments"]
    assert found[0].details["assignments"] == 5
    assert TransactionStatusChange.objects.filter(reason="assigned by an admin").count() == 5


def test_four_assignments_do_not(saver, org_admin):
    assert deposits_check(transaction_ids=[_assign_unmatched(saver, org_admin, 4).pk]) == []


# --- callbacks from outside Safaricom's addresses ---

def test_a_credit_from_outside_the_allow_list_trips(saver, settings):
    from payments.models import CallbackInbox

    settings.MPESA_ALLOWED_IPS = ["196.201.214.0/24"]
    tx = _deposit(saver, 100)
    CallbackInbox.objects.create(kind="confirmation", natural_key=tx.transaction_id, payload={},
                                 remote_ip="203.0.113.9", state="processed", transaction=tx)
    found = deposits_check(transaction_ids=[tx.pk])
    assert _rules(found) == ["outside_allowlist"]
    assert found[0].details["address"] == "203.0.113.9"


def test_a_credit_from_inside_the_allow_list_or_without_one_does_not(saver, settings):
    from payments.models import CallbackInbox

    tx = _deposit(saver, 100)
    CallbackInbox.objects.create(kind="confirmation", natural_key=tx.transaction_id, payload={},
                                 remote_ip="196.201.214.200", state="processed", transaction=tx)
    assert deposits_check(transaction_ids=[tx.pk]) == []  # no allow-list set
    settings.MPESA_ALLOWED_IPS = ["196.201.214.0/24"]
    assert deposits_check(transaction_ids=[tx.pk]) == []


def test_nightly_counts_refusals_from_outside_the_allow_list(tenant, settings):
    from payments.platform.models import RefusedCallback

    settings.MPESA_ALLOWED_IPS = ["196.201.214.200"]
    assert nightly_check() == 0
    RefusedCallback.objects.create(organization=tenant, kind="confirmation", reason="forbidden_ip", status_code=403,
                                   remote_ip="203.0.113.5")
    assert nightly_check() == 1
    assert Finding.objects.get(organization=tenant).details["addresses"] == ["203.0.113.5"]


# --- thresholds per organization; findings never block money ---

def test_an_organization_sets_its_own_thresholds(saver):
    WatchSettings.objects.create(organization=_org(), thresholds={"outsized_floor": 50_000})
    for days in (10, 20, 30):
        _deposit(saver, 1000, ago=timedelta(days=days))
    assert deposits_check(transaction_ids=[_deposit(saver, 12_000).pk]) == []
    assert thresholds_for(organization=_org())["outsized_multiple"] == 10  # the rest stay default


def _org():
    from django.db import connection

    return connection.tenant


def test_threshold_overrides_are_validated(tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        WatchSettings(organization=tenant, thresholds={"made_up": 3}).full_clean()
    with pytest.raises(ValidationError):
        WatchSettings(organization=tenant, thresholds={"burst_count": -1}).full_clean()


def test_a_credited_callback_is_checked_and_still_credited(hook, member, settings):
    """End to end: the drain credits and scores, then the check runs in its own task and flags."""
    from tests.payments.conftest import c2b_payload

    for days in (10, 20, 30):
        _deposit(member, 500, ago=timedelta(days=days))
    response = hook("confirmation", c2b_payload(trans_id="RKBIG00001", amount="20000", bill_ref=member.account_code))
    assert response.status_code == 200
    tx = Transaction.objects.get(transaction_id="RKBIG00001")
    assert tx.status == "verified"  # flagged, never blocked
    assert list(Finding.objects.filter(transaction_id=tx.pk).values_list("rule", flat=True)) == ["outsized_deposit"]


def test_a_broken_rule_or_broker_never_stops_a_credit(hook, member, monkeypatch):
    from payments.watch import rules, tasks
    from tests.payments.conftest import c2b_payload

    def broken(*args, **kwargs):
        raise RuntimeError("broker down")

    monkeypatch.setattr(tasks.deposits_check_task, "apply_async", broken)
    monkeypatch.setattr(rules, "DEPOSIT_RULES", (broken,))
    assert hook("confirmation", c2b_payload(trans_id="RKOK000001", bill_ref=member.account_code)).status_code == 200
    assert Transaction.objects.get(transaction_id="RKOK000001").status == "verified"


# --- what admins see ---

@pytest.fixture
def finding(saver):
    payer = phone_sha256("+254799000111")
    last = None
    for i in range(4):
        last = _deposit(_member(f"+25470300000{i}", f"Member {i}"), 200, payer=payer)
    return deposits_check(transaction_ids=[last.pk])[0]


def test_admins_see_findings_on_manage_and_mark_them_reviewed(client_for, org, org_admin, finding):
    client = client_for(org)
    client.force_login(org_admin)
    html = client.get("/manage/watch/").content.decode()
    assert "Watch list" in html and "One phone paid into 4 members&#x27; accounts in 30 days." in html
    assert "Mark reviewed" in html
    response = client.post("/manage/watch/", {"finding": finding.pk, "note": "a church treasurer"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.reviewed_at is not None and finding.review_note == "a church treasurer"
    assert "Nothing to review" in client.get("/manage/watch/").content.decode()
    assert "a church treasurer" in client.get("/manage/watch/?show=reviewed").content.decode()


def test_findings_read_in_kiswahili(client_for, org, org_admin, finding):
    org_admin.language = "sw"
    org_admin.save(update_fields=["language"])
    client = client_for(org)
    client.force_login(org_admin)
    html = client.get("/manage/watch/").content.decode()
    assert 'lang="sw"' in html
    assert "Orodha ya uangalizi" in html
    assert "Simu moja ililipa kwenye akaunti 4 za wanachama ndani ya siku 30." in html
    assert "Weka kama imekaguliwa" in html


def test_members_cannot_see_findings(client_for, org, saver, finding):
    client = client_for(org)
    client.force_login(saver)
    assert client.get("/manage/watch/").status_code in (302, 403)


def test_another_organizations_admin_cannot_review_this_ones_finding(finding, other_org):
    from payments.watch.services import finding_review

    with pytest.raises(Finding.DoesNotExist):
        finding_review(finding_id=finding.pk, organization=other_org, actor=None)


def test_the_owner_sees_findings_in_django_admin(finding, org):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    connection.set_schema_to_public()
    owner = get_user_model().objects.create_superuser(phone_number="+254700999001", password="pw-12345678")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    html = client.get("/admin/payments_watch/finding/").content.decode()
    assert "shared_payer" in html or "One phone pays into many accounts" in html
    response = client.post("/admin/payments_watch/finding/", {"action": "mark_reviewed", "_selected_action": [finding.pk]})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.reviewed_at is not None
