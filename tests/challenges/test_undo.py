"""Issue 16 item 12 (undo): Cancel on a challenge row and Remove on a member row ask first, naming what
happens; a cancelled challenge can be restored within RESTORE_HOURS when nothing happened to it
meanwhile, and a removed member can be restored; each undo is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone


@pytest.fixture
def running(tenant, org_admin):
    from challenges.services import challenge_create, challenge_update, participant_join
    from accounts.services import user_create

    challenge = challenge_create(actor=org_admin, name="December 1000", type="fixed_amount",
                                 target={"amount": "1000", "frequency": "weekly"}, duration_days=28,
                                 start_date=timezone.localdate(), status="draft")
    challenge = challenge_update(challenge=challenge, actor=org_admin, data={"status": "active"})
    saver = user_create(phone_number="+254712600001", name="Neema Saver")
    participant_join(challenge=challenge, user=saver)
    challenge.saver = saver
    return challenge


def _row(html: str, name: str) -> str:
    return re.search(rf"{name}</a>.*?</tr>", html, re.S).group(0)


def test_cancel_and_remove_ask_first_naming_what_happens(leader, running):
    html = leader.get("/manage/challenges/").content.decode()
    assert re.search(r'data-confirm="Cancel the challenge “December 1000”\? Its savers stop earning points in it\.'
                     r' You can restore it within a day', _row(html, "December 1000"))
    members = leader.get("/manage/members/").content.decode()
    assert 'data-confirm="Remove Neema Saver from the group? They can no longer sign in or save here.' in members


def test_a_cancelled_challenge_is_restored_as_it_was_and_audited(leader, running, org_admin):
    from accounts.models import AuditEvent
    from challenges.models import Challenge

    assert leader.post("/manage/challenges/", {"challenge": running.pk, "action": "cancel"}).status_code == 302
    running.refresh_from_db()
    assert running.status == "cancelled" and running.cancelled_from == "active"
    listing = leader.get("/manage/challenges/").content.decode()
    assert 'value="restore"' in _row(listing, "December 1000") and "Undo possible until" in listing
    assert leader.post("/manage/challenges/", {"challenge": running.pk, "action": "restore"}).status_code == 302
    running.refresh_from_db()
    assert running.status == "active" and running.cancelled_at is None
    event = AuditEvent.objects.filter(action="challenge.restored").get()
    assert event.actor == org_admin and event.after["status"] == "active"
    assert 'value="restore"' not in _row(leader.get("/manage/challenges/").content.decode(), "December 1000")
    assert Challenge.objects.get(pk=running.pk).status == "active"


def test_no_undo_after_the_window(leader, running, org_admin):
    from challenges.services import RESTORE_HOURS, challenge_update

    challenge_update(challenge=running, actor=org_admin, data={"status": "cancelled"})
    with time_machine.travel(timezone.now() + timedelta(hours=RESTORE_HOURS, minutes=5)):
        listing = leader.get("/manage/challenges/").content.decode()
        assert 'value="restore"' not in _row(listing, "December 1000")
        response = leader.post("/manage/challenges/", {"challenge": running.pk, "action": "restore"}, follow=True)
        assert "cannot be restored" in response.content.decode()
    running.refresh_from_db()
    assert running.status == "cancelled"


def test_no_undo_once_a_member_paid_meanwhile(leader, running, org_admin):
    from payments.models import Transaction

    from challenges.services import challenge_update

    challenge_update(challenge=running, actor=org_admin, data={"status": "cancelled"})
    Transaction.objects.create(user=running.saver, amount=Decimal("300"), status="verified", source="c2b",
                               transaction_id="UNDO0001", transacted_at=timezone.now(), verified_at=timezone.now())
    response = leader.post("/manage/challenges/", {"challenge": running.pk, "action": "restore"}, follow=True)
    assert "Payments from its members arrived since it was cancelled" in response.content.decode()
    running.refresh_from_db()
    assert running.status == "cancelled"


def test_a_cancelled_draft_comes_back_as_a_draft(tenant, org_admin):
    from challenges.services import challenge_create, challenge_restore, challenge_update

    draft = challenge_create(actor=org_admin, name="Maybe later", type="fixed_amount",
                             target={"amount": "100", "frequency": "weekly"}, duration_days=14,
                             start_date=timezone.localdate(), status="draft")
    challenge_update(challenge=draft, actor=org_admin, data={"status": "cancelled"})
    assert challenge_restore(challenge=draft, actor=org_admin).status == "draft"


def test_junk_challenge_ids_change_nothing(leader, running):
    for junk in ("abc", "-1", "9" * 30, ""):
        assert leader.post("/manage/challenges/", {"challenge": junk, "action": "restore"}).status_code == 302
    running.refresh_from_db()
    assert running.status == "active"
