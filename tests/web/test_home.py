"""The member home reads gamification (points with bonuses, ranks, streaks, joined challenges only)
and payments (verified ledger total, Paybill) through their selectors."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Sum


@pytest.fixture
def score(django_capture_on_commit_callbacks):
    from challenges.services import deposit_score

    def run(tx):
        with django_capture_on_commit_callbacks(execute=True):  # board write-through runs as after commit
            deposit_score(transaction_id=tx.pk)
        return tx

    return run


def test_home_summary_comes_from_gamification_and_the_ledger(signed_in, member, deposit, active_challenge, score,
                                                             tenant):
    from accounts.services import user_create
    from challenges.models import Challenge, Participant, PointAward
    from challenges.services import participant_join

    streak = Challenge.objects.create(name="Four weeks", type="streak", target={"consecutive_weeks": 4},
                                      duration_days=56, start_date=date.today() - timedelta(days=3), status="active")
    Challenge.objects.create(name="Not joined", type="fixed_amount", target={"amount": 100, "frequency": "weekly"},
                             duration_days=28, start_date=date.today() - timedelta(days=3), status="active")
    rival = user_create(phone_number="+254712000999", name="Baraka")
    for user, challenge in ((rival, active_challenge), (member, active_challenge), (member, streak)):
        participant_join(challenge=challenge, user=user)
    score(deposit(rival, 1000))
    score(deposit(member, 500))
    score(deposit(member, 200, days_ago=1))
    deposit(member, 999, status="pending")
    deposit(member, 50, status="failed")
    PointAward.objects.create(user=member, reason=PointAward.Reason.REFERRAL, points=250, detail="Referred a friend")

    html = signed_in(member).get("/").content.decode()
    assert re.search(r"data-total>KES 700\.00<", html)
    points = PointAward.objects.filter(user=member).aggregate(s=Sum("points"))["s"]
    assert points > 250 and f"data-points>{intcomma(points)}<" in html  # bonuses included
    assert "Weekly 500" in html and "Four weeks" in html and "Not joined" not in html
    weekly = Participant.objects.get(user=member, challenge=active_challenge)
    percent = 100 * weekly.progress["periods_met"] // weekly.progress["periods_total"]
    assert weekly.progress["periods_met"] == 1 and f'class="ring" style="--value:{percent}"' in html
    assert "rank #2 of 2" in html  # behind Baraka in Weekly 500
    assert re.search(r"data-rank>#1<", html) and "of 1 in Four weeks" in html  # the best of my ranks
    assert "Current streak: 1 week / 4" in html


def test_home_paybill_comes_from_payments(signed_in, member, tenant):
    from payments.models import MpesaSettings

    row = MpesaSettings.objects.get()
    row.shortcode, row.shortcode_type = "600123", MpesaSettings.ShortcodeType.PAYBILL
    row.save()
    html = signed_in(member).get("/").content.decode()
    assert 'data-copy="600123"' in html and f'data-copy="{member.account_code}"' in html
    row.shortcode_type = MpesaSettings.ShortcodeType.TILL
    row.save()
    assert 'data-copy="600123"' not in signed_in(member).get("/").content.decode()
