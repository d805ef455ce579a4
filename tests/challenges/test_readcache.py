"""The game's read cache (challenges/readcache.py, issue 13): a member's points for minutes and the
challenge list until a challenge changes, forgotten on every write through the game, tenant-keyed.

Each test first shows the value really is served from the cache (a row written behind the game's
back is not seen), then that a write through the game is seen at once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection


@pytest.fixture
def member_api(api_client_for, org):
    from accounts.authentication import tokens_for_user

    def make(user, organization=None):
        client = api_client_for(organization or org)
        client.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(user)["access"])
        return client

    return make


def _behind_the_games_back(user, points):
    from challenges.models import PointAward

    PointAward.objects.create(user=user, reason=PointAward.Reason.DEPOSIT, points=points, detail="direct")


def test_points_are_cached_and_forgotten_when_a_deposit_is_scored(make_member, make_challenge, record_deposit,
                                                                 frozen_today, django_capture_on_commit_callbacks):
    from challenges.selectors import member_points
    from challenges.services import participant_join

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    member = make_member()
    participant_join(challenge=challenge, user=member)
    assert member_points(member=member) == 0
    _behind_the_games_back(member, 7)
    assert member_points(member=member) == 0  # cached: the direct row is not seen
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(member, 500, date(2026, 3, 4), challenge=challenge)
    fresh = member_points(member=member)
    assert fresh > 7  # the deposit's points and the direct row, read again
    from challenges.models import PointAward
    from django.db.models import Sum

    assert fresh == PointAward.objects.filter(user=member).aggregate(t=Sum("points"))["t"]


def test_points_are_forgotten_when_a_reversal_takes_them_back(make_member, make_challenge, record_deposit,
                                                             frozen_today, org_admin,
                                                             django_capture_on_commit_callbacks):
    from challenges.selectors import member_points
    from challenges.services import participant_join
    from payments.services import transaction_reverse

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    member = make_member()
    participant_join(challenge=challenge, user=member)
    with django_capture_on_commit_callbacks(execute=True):
        tx = record_deposit(member, 500, date(2026, 3, 4), challenge=challenge)
    earned = member_points(member=member)
    assert earned > 0
    with django_capture_on_commit_callbacks(execute=True):
        transaction_reverse(transaction_id=tx.pk, reason="refunded", actor=org_admin)
    assert member_points(member=member) == 0


def test_achievements_and_progress_show_points_scored_a_moment_ago(make_member, make_challenge, record_deposit,
                                                                  frozen_today, member_api,
                                                                  django_capture_on_commit_callbacks):
    from challenges.services import participant_join

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    member = make_member()
    participant_join(challenge=challenge, user=member)
    api = member_api(member)
    assert api.get(f"/api/v1/members/{member.pk}/achievements").json()["points"] == 0
    assert api.get(f"/api/v1/members/{member.pk}/progress").json()["points"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(member, 500, date(2026, 3, 4), challenge=challenge)
    points = api.get(f"/api/v1/members/{member.pk}/achievements").json()["points"]
    assert points > 0 and api.get(f"/api/v1/members/{member.pk}/progress").json()["points"] == points


def test_achievements_are_cached_and_a_new_badge_shows_at_once_in_both_languages(
        make_member, make_challenge, record_deposit, frozen_today, member_api, django_capture_on_commit_callbacks):
    from accounts.models import User
    from challenges.services import participant_join

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge()
    member = make_member()
    participant_join(challenge=challenge, user=member)
    api = member_api(member)
    url = f"/api/v1/members/{member.pk}/achievements"
    english = api.get(url).json()
    assert english["earned"] == [] and english["history"] == []
    member.language = "sw"
    member.save(update_fields=["language"])
    swahili = api.get(url).json()
    assert swahili["earned"] == [] and swahili["locked"][0]["name"] != english["locked"][0]["name"]
    _behind_the_games_back(member, 7)
    assert api.get(url).json()["history"] == []  # cached: the direct row is not seen
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(member, 500, date(2026, 3, 4), challenge=challenge)  # points and the first-deposit badge
    for language in ("sw", "en"):
        User.objects.filter(pk=member.pk).update(language=language)
        from accounts.selectors import user_forget

        user_forget(user_ids=[member.pk])
        mine = api.get(url).json()
        assert mine["earned"] and len(mine["history"]) >= 2, language  # the badge, the deposit and the direct row


def _names(response):
    assert response.status_code == 200, response.content
    return {row["name"]: row for row in response.json()["results"]}


def test_the_challenge_list_is_cached_until_a_challenge_changes(make_member, make_challenge, org_admin, member_api,
                                                               frozen_today, record_deposit,
                                                               django_capture_on_commit_callbacks):
    from challenges.models import Challenge
    from challenges.services import challenge_create, challenge_update, participant_join

    frozen_today(date(2026, 3, 4))
    first = make_challenge(name="First")
    member = make_member()
    api = member_api(member)
    assert set(_names(api.get("/api/v1/challenges"))) == {"First"}
    Challenge.objects.filter(pk=first.pk).update(name="Renamed behind its back")
    assert set(_names(api.get("/api/v1/challenges"))) == {"First"}  # served from the cache

    challenge_create(actor=org_admin, name="Second", type="fixed_amount", target={"amount": "500", "frequency": "weekly"},
                     duration_days=28, start_date=date(2026, 3, 4), status="active")
    assert set(_names(api.get("/api/v1/challenges"))) == {"Renamed behind its back", "Second"}

    challenge_update(challenge=first, actor=org_admin, data={"name": "First again"})
    rows = _names(api.get("/api/v1/challenges"))
    assert set(rows) == {"First again", "Second"} and rows["First again"]["participants_count"] == 0

    participant_join(challenge=first, user=member)  # participants_count moves
    rows = _names(api.get("/api/v1/challenges"))
    assert rows["First again"]["participants_count"] == 1 and rows["First again"]["joined"] is True

    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(member, 500, date(2026, 3, 4), challenge=first)  # total_saved moves
    assert _names(api.get("/api/v1/challenges"))["First again"]["total_saved"] == "500.00"
    assert set(_names(api.get("/api/v1/challenges?status=active"))) == {"First again", "Second"}
    assert set(_names(api.get("/api/v1/challenges?status=completed"))) == set()


def test_drafts_stay_off_the_members_cached_list(make_challenge, make_member, org_admin, member_api, frozen_today):
    frozen_today(date(2026, 3, 4))
    make_challenge(name="Open")
    make_challenge(name="Draft", status="draft")
    assert set(_names(member_api(org_admin).get("/api/v1/challenges"))) == {"Open", "Draft"}  # the admin's list
    assert set(_names(member_api(make_member()).get("/api/v1/challenges"))) == {"Open"}  # then the members'


def test_no_cached_value_crosses_organizations(tenant, org, other_org, member_api):
    """Same member id, same cache keys in code: each organization reads its own points and challenges."""
    from accounts.factories import UserFactory
    from challenges.models import Challenge, PointAward
    from challenges.selectors import challenge_list_cached, member_points

    def world(name, points):
        member = UserFactory(pk=990_001)
        PointAward.objects.create(user=member, reason=PointAward.Reason.DEPOSIT, points=points, detail="seed")
        Challenge.objects.create(name=name, type="fixed_amount", target={"amount": 500, "frequency": "weekly"},
                                 duration_days=28, start_date=date.today() - timedelta(days=1), status="active")
        return member

    a = world("Alpha's", 11)
    assert member_points(member=a) == 11
    assert [c.name for c in challenge_list_cached(user=a)] == ["Alpha's"]
    alpha_api = member_api(a)
    assert set(_names(alpha_api.get("/api/v1/challenges"))) == {"Alpha's"}

    connection.set_tenant(other_org)
    b = world("Beta's", 22)
    assert b.pk == a.pk
    assert member_points(member=b) == 22
    assert [c.name for c in challenge_list_cached(user=b)] == ["Beta's"]
    assert set(_names(member_api(b, other_org).get("/api/v1/challenges"))) == {"Beta's"}

    connection.set_tenant(org)  # and back: alpha's entries are still alpha's
    assert member_points(member=a) == 11
    assert set(_names(alpha_api.get("/api/v1/challenges"))) == {"Alpha's"}
