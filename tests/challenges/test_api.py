"""The challenges API over HTTP (CONTRACT.md shapes)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from challenges.models import Challenge, Participant


@pytest.fixture
def admin_api(api_client_for, org, org_admin):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    return client


@pytest.fixture
def member_api(api_client_for, org, member):
    client = api_client_for(org)
    client.force_authenticate(member)
    return client


def _payload(**overrides):
    body = {"name": "Weekly 500", "description": "Save 500 a week", "type": "fixed_amount",
            "target": {"amount": 500, "frequency": "weekly"}, "duration_days": 28,
            "start_date": (timezone.localdate() + timedelta(days=1)).isoformat()}
    body.update(overrides)
    return body


def test_create_publish_join_and_leaderboard(admin_api, member_api, member):
    created = admin_api.post("/api/v1/challenges", _payload(), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft" and body["target"] == {"amount": "500.00", "frequency": "weekly"}
    start = date.fromisoformat(body["start_date"])
    assert body["end_date"] == (start + timedelta(days=27)).isoformat()
    cid = body["id"]
    assert member_api.get(f"/api/v1/challenges/{cid}").status_code == 404  # drafts are hidden from members
    assert member_api.post(f"/api/v1/challenges/{cid}/join").status_code == 404
    assert member_api.get(f"/api/v1/challenges/{cid}/leaderboard").status_code == 404
    assert member_api.get("/api/v1/challenges/987654/leaderboard").status_code == 404
    published = admin_api.patch(f"/api/v1/challenges/{cid}", {"status": "active"}, format="json")
    assert published.status_code == 200 and published.json()["status"] == "active"
    first = member_api.post(f"/api/v1/challenges/{cid}/join")
    again = member_api.post(f"/api/v1/challenges/{cid}/join/")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Challenge.objects.get(pk=cid).participants_count == 1
    listed = member_api.get("/api/v1/challenges").json()
    assert [c["id"] for c in listed["results"]] == [cid] and listed["results"][0]["joined"] is True
    board = member_api.get(f"/api/v1/challenges/{cid}/leaderboard")
    assert board.status_code == 200
    data = board.json()
    assert data["results"] == [{"rank": 1, "user": {"id": member.pk, "name": member.name}, "score": 0,
                                "total_saved": "0.00"}]
    assert data["me"]["rank"] == 1 and data["me"]["gap_to_next"] is None


@pytest.mark.parametrize("type_, target, field", [
    ("fixed_amount", {"amount": 500}, "frequency"),
    ("fixed_amount", {"amount": -5, "frequency": "weekly"}, "amount"),
    ("fixed_amount", {"amount": "abc", "frequency": "weekly"}, "amount"),
    ("percentage", {"baseline": "last_month"}, "increase"),
    ("percentage", {"increase": 10, "baseline": "last_year"}, "baseline"),
    ("streak", {"consecutive_weeks": 2, "consecutive_days": 3}, "consecutive_weeks"),
    ("streak", {"consecutive_days": 0}, "consecutive_days"),
    ("streak", {"consecutive_weeks": 9}, "consecutive_weeks"),  # longer than 28 days allow
    ("group", {"team_amount": 1000}, "min_members"),
    ("group", {"team_amount": 1000, "min_members": 2, "colour": "red"}, "colour"),
])
def test_bad_targets_get_a_400_naming_the_field(admin_api, type_, target, field):
    response = admin_api.post("/api/v1/challenges", _payload(type=type_, target=target), format="json")
    assert response.status_code == 400
    errors = response.json()["target"]
    assert any(message.startswith(f"{field}:") for message in errors), errors


def test_other_bad_fields_are_named(admin_api):
    response = admin_api.post("/api/v1/challenges", _payload(type="lottery", duration_days=0), format="json")
    assert response.status_code == 400 and {"type", "duration_days"} <= set(response.json())


def test_members_cannot_write_and_structural_edits_stop_after_publishing(admin_api, member_api):
    assert member_api.post("/api/v1/challenges", _payload(), format="json").status_code == 403
    cid = admin_api.post("/api/v1/challenges", _payload(status="active"), format="json").json()["id"]
    assert member_api.patch(f"/api/v1/challenges/{cid}", {"name": "x"}, format="json").status_code == 403
    response = admin_api.patch(f"/api/v1/challenges/{cid}", {"target": {"amount": 1, "frequency": "daily"}},
                               format="json")
    assert response.status_code == 400 and "target" in response.json()
    assert admin_api.delete(f"/api/v1/challenges/{cid}").status_code == 400
    assert admin_api.patch(f"/api/v1/challenges/{cid}", {"status": "draft"}, format="json").status_code == 400
    assert admin_api.patch(f"/api/v1/challenges/{cid}", {"status": "cancelled"}, format="json").json()["status"] == \
        "cancelled"
    draft = admin_api.post("/api/v1/challenges", _payload(), format="json").json()["id"]
    assert admin_api.delete(f"/api/v1/challenges/{draft}").status_code == 204
    assert not Challenge.objects.filter(pk=draft).exists()


def test_achievements_and_progress_are_private(admin_api, member_api, api_client_for, org, member, make_member):
    other = make_member(name="Other")
    other_api = api_client_for(org)
    other_api.force_authenticate(other)
    for path in ("achievements", "progress"):
        assert member_api.get(f"/api/v1/members/{member.pk}/{path}").status_code == 200
        assert admin_api.get(f"/api/v1/members/{member.pk}/{path}").status_code == 200
        assert other_api.get(f"/api/v1/members/{member.pk}/{path}").status_code == 404
        assert admin_api.get(f"/api/v1/members/999999/{path}").status_code == 404
    body = member_api.get(f"/api/v1/members/{member.pk}/achievements").json()
    assert body["earned"] == [] and any(b["slug"] == "first-deposit" for b in body["locked"])
    assert all(b["how_to_earn"] for b in body["locked"])


def test_progress_lists_participations(admin_api, member_api, member, record_deposit):
    cid = admin_api.post("/api/v1/challenges", _payload(
        status="active", start_date=timezone.localdate().isoformat()), format="json").json()["id"]
    member_api.post(f"/api/v1/challenges/{cid}/join")
    record_deposit(member, "600", timezone.localtime())
    body = member_api.get(f"/api/v1/members/{member.pk}/progress").json()
    assert body["total_contributed"] == "600.00"
    (row,) = body["results"]
    assert row["challenge"]["id"] == cid and row["progress"]["periods_met"] == 1
    assert row["points"] == body["points"] > 600  # 600 + early bird


def test_group_teams_create_join_auto_assign(admin_api, member_api, api_client_for, org, member, make_member):
    cid = admin_api.post("/api/v1/challenges", _payload(
        type="group", target={"team_amount": 5000, "min_members": 2}, status="active"), format="json").json()["id"]
    created = member_api.post(f"/api/v1/challenges/{cid}/teams", {"name": "Simba"}, format="json")
    assert created.status_code == 201 and created.json()["members_count"] == 1
    assert member_api.post(f"/api/v1/challenges/{cid}/teams", {"name": "Chui"}, format="json").status_code == 400
    second = make_member(name="Second")
    api = api_client_for(org)
    api.force_authenticate(second)
    joined = api.post(f"/api/v1/challenges/{cid}/teams/{created.json()['id']}/join")
    assert joined.status_code == 200 and joined.json()["team"]["name"] == "Simba"
    third = make_member(name="Third")
    api.force_authenticate(third)
    api.post(f"/api/v1/challenges/{cid}/join")
    assert admin_api.post(f"/api/v1/challenges/{cid}/teams", {"name": "Chui"}, format="json").status_code == 201
    assigned = admin_api.post(f"/api/v1/challenges/{cid}/teams/auto-assign", {}, format="json")
    assert assigned.status_code == 200 and [p["team"]["name"] for p in assigned.json()] == ["Chui"]
    teams = member_api.get(f"/api/v1/challenges/{cid}/teams").json()
    assert {t["name"]: t["members_count"] for t in teams} == {"Simba": 2, "Chui": 1}
    assert Participant.objects.filter(challenge_id=cid, team__isnull=True).count() == 0
    bad = member_api.get(f"/api/v1/challenges/{cid}/leaderboard?team=abc")
    assert bad.status_code == 400 and "team" in bad.json()


def test_openapi_schema_lists_the_endpoints(admin_api):
    response = admin_api.get("/api/v1/schema/")
    if response.status_code == 404:
        pytest.skip("the schema view is mounted by the foundation/identity work")
    text = response.content.decode()
    assert "/api/v1/challenges/{id}/leaderboard" in text


def test_patch_completed_settles_now(admin_api, member_api, member, record_deposit):
    cid = admin_api.post("/api/v1/challenges", _payload(
        status="active", start_date=timezone.localdate().isoformat(), duration_days=7), format="json").json()["id"]
    member_api.post(f"/api/v1/challenges/{cid}/join")
    record_deposit(member, "600", timezone.localtime())
    response = admin_api.patch(f"/api/v1/challenges/{cid}", {"status": "completed"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    participant = Participant.objects.get(challenge_id=cid, user=member)
    assert participant.final_rank == 1 and participant.status in ("completed", "failed")
    assert member_api.post(f"/api/v1/challenges/{cid}/join").status_code == 200  # already in
    assert admin_api.patch(f"/api/v1/challenges/{cid}", {"status": "active"}, format="json").status_code == 400


def test_leaderboard_read_is_cheap(member_api, make_challenge, member, django_assert_max_num_queries):
    challenge = make_challenge(start=timezone.localdate(), name="Cheap")
    member_api.post(f"/api/v1/challenges/{challenge.pk}/join")
    member_api.get(f"/api/v1/challenges/{challenge.pk}/leaderboard")  # builds the board, caches the status
    with django_assert_max_num_queries(0):  # force_authenticate: no session/user queries; board from Redis
        response = member_api.get(f"/api/v1/challenges/{challenge.pk}/leaderboard?limit=5")
    assert response.status_code == 200 and response.json()["me"]["user"]["id"] == member.pk
