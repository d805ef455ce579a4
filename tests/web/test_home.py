"""The member home reads gamification (points with bonuses, ranks, streaks, joined challenges only)
and payments (verified ledger total, Paybill) through their selectors."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Sum

from tests.web.conftest import this_monday


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
                                      duration_days=56, start_date=this_monday(), status="active")
    Challenge.objects.create(name="Not joined", type="fixed_amount", target={"amount": 100, "frequency": "weekly"},
                             duration_days=28, start_date=this_monday(), status="active")
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
    assert weekly.progress["periods_met"] == 1 and f'class="ring" data-percent="{percent}"' in html
    assert "rank #2 of 2" in html  # behind Baraka in Weekly 500
    # The tile speaks of the group's main challenge (most savers), not "#1 of 1" in one just joined (issue 16.8).
    assert re.search(r"data-rank>#2<", html) and "of 2 in Weekly 500" in html
    assert "Current streak: 1 week / 4" in html


def test_home_paybill_comes_from_payments(signed_in, member, tenant):
    """Through payments' settings service (the leader's settings page): the Paybill is kept in the
    tenant's cache (payments.selectors.organization_paybill) and forgotten when the settings change."""
    from payments.models import MpesaSettings
    from payments.services import mpesa_settings_update

    mpesa_settings_update(data={"shortcode": "600123", "shortcode_type": MpesaSettings.ShortcodeType.PAYBILL})
    html = signed_in(member).get("/").content.decode()
    assert 'data-copy="600123"' in html and f'data-copy="{member.account_code}"' in html
    MpesaSettings.objects.update(shortcode="600999")  # behind payments' back: the cached number stays
    assert 'data-copy="600123"' in signed_in(member).get("/").content.decode()
    mpesa_settings_update(data={"shortcode_type": MpesaSettings.ShortcodeType.TILL})
    html = signed_in(member).get("/").content.decode()
    assert 'data-copy="600123"' not in html and 'data-copy="600999"' not in html


def test_a_failed_challenge_is_not_active_and_my_status_leads_each_card(signed_in, member, active_challenge, tenant):
    """Issue 16.5: 'Active' header, 'Status: Failed' body, still under Active challenges and in Save now."""
    from challenges.models import Challenge, Participant
    from challenges.services import participant_join

    lost = Challenge.objects.create(name="Lost cause", type="fixed_amount", target={"amount": 500, "frequency": "weekly"},
                                    duration_days=28, start_date=date.today() - timedelta(days=10), status="active")
    participant_join(challenge=active_challenge, user=member)
    participant_join(challenge=lost, user=member)
    Participant.objects.filter(challenge=lost, user=member).update(status=Participant.Status.FAILED)
    client = signed_in(member)
    html = client.get("/").content.decode()
    active = html.split('id="active-h"')[1].split("Over for me")[0]
    assert "Weekly 500" in active and "Lost cause" not in active
    assert 'data-standing="failed"' in html.split("Over for me")[1].split("Lost cause")[0]
    card = html.split(">Weekly 500</a></h3>")[0].rsplit('<article class="card">', 1)[1]
    assert 'data-standing="on_track"' in card  # the member's own status comes first on the card
    detail = client.get(f"/challenges/{lost.pk}/").content.decode()
    assert 'data-standing="failed"' in detail and "· Active" not in detail
    save = client.get("/save/").content.decode()
    assert "Weekly 500" in save and "Lost cause" not in save
    assert '<option value="">' in save and "selected" not in save.split('id="challenge"')[1].split("</select>")[0]


def test_an_upcoming_challenge_says_when_it_starts_and_can_be_joined_ahead(signed_in, member, tenant):
    """Issue 16.6: 'December 1000 a week' starting on 7 Dec showed as running on 3 Dec."""
    import time_machine

    from challenges.models import Challenge, Participant

    with time_machine.travel("2026-12-03T10:00:00+03:00", tick=False):
        december = Challenge.objects.create(name="December 1000 a week", type="fixed_amount",
                                            target={"amount": 1000, "frequency": "weekly"}, duration_days=28,
                                            start_date=date(2026, 12, 7), status="active")
        client = signed_in(member)
        listing = client.get("/challenges/").content.decode()
        running = listing.split('id="active-heading"')[1].split('id="upcoming-heading"')[0]
        assert "December 1000 a week" not in running
        upcoming = listing.split('id="upcoming-heading"')[1]
        assert "December 1000 a week" in upcoming and "Starts Mon 7 Dec" in upcoming
        detail = client.get(f"/challenges/{december.pk}/").content.decode()
        assert "Starts Mon 7 Dec" in detail and "Join ahead" in detail
        assert client.post(f"/challenges/{december.pk}/", {"action": "join"}).status_code == 302
        assert Participant.objects.filter(challenge=december, user=member).exists()
        home = client.get("/").content.decode()
        assert "December 1000 a week" in home and "starts Mon 7 Dec" in home
        assert "December 1000 a week" not in client.get("/save/").content.decode()  # nothing to count towards yet


def test_home_rank_tile_stays_on_the_main_challenge_when_a_new_one_is_joined(signed_in, member, active_challenge,
                                                                            deposit, score, tenant):
    """Issue 16.8: joining a new challenge (alone in it: "#1 of 1") made the tile jump to it."""
    from accounts.services import user_create
    from challenges.models import Challenge
    from challenges.services import participant_join

    others = [user_create(phone_number=f"+25471200{n:04d}", name=f"Saver {n}") for n in range(3)]
    for user in [*others, member]:
        participant_join(challenge=active_challenge, user=user)
    for n, user in enumerate(others):
        score(deposit(user, 1000 + n))
    score(deposit(member, 10))
    client = signed_in(member)
    before = client.get("/").content.decode()
    assert re.search(r"data-rank>#4<", before) and "of 4 in Weekly 500" in before
    newest = Challenge.objects.create(name="Brand new", type="fixed_amount", target={"amount": 100, "frequency": "weekly"},
                                      duration_days=28, start_date=date.today(), status="active")
    participant_join(challenge=newest, user=member)
    for _ in range(2):
        after = client.get("/").content.decode()
        assert re.search(r"data-rank>#4<", after) and "of 4 in Weekly 500" in after
