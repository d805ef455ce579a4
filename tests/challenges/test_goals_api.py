"""Personal goals and streak freezes over HTTP (issue 18), and their OpenAPI entries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import Challenge


@pytest.fixture
def member_api(api_client_for, org, member):
    client = api_client_for(org)
    client.force_authenticate(member)
    return client


@pytest.fixture
def admin_api(api_client_for, org, org_admin):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    return client


def test_a_member_sets_reads_shares_and_stops_a_goal(member_api, admin_api, api_client_for, org, make_member,
                                                   record_deposit, member):
    due = (timezone.localdate() + timedelta(days=27)).isoformat()
    created = member_api.post("/api/v1/goals", {"name": "Shamba", "target_amount": "4000", "target_date": due,
                                                "frequency": "weekly"}, format="json")
    assert created.status_code == 201, created.content
    goal = created.json()
    assert goal["name"] == "Shamba" and goal["percent"] == 0 and goal["per_week"] is not None
    assert goal["streak"]["freezes_held"] == 0 and goal["shared"] is False
    record_deposit(member, "1000", timezone.localtime())
    mine = member_api.get("/api/v1/goals").json()
    assert [g["saved"] for g in mine] == ["1000.00"] and mine[0]["percent"] == 25
    # nobody else reads it, and it is not a challenge anyone can list
    other = api_client_for(org)
    other.force_authenticate(make_member())
    assert other.get(f"/api/v1/goals/{goal['id']}").status_code == 404
    assert other.get("/api/v1/goals").json() == []
    assert goal["challenge_id"] not in [c["id"] for c in other.get("/api/v1/challenges").json()["results"]]
    assert other.get(f"/api/v1/challenges/{goal['challenge_id']}/leaderboard").status_code == 404
    # leaders: uptake, and the name only once shared
    assert member_api.get("/api/v1/goals/uptake").status_code == 403
    uptake = admin_api.get("/api/v1/goals/uptake").json()
    assert uptake["goals"] == 1 and uptake["shared_goals"] == [] and "Shamba" not in str(uptake)
    shared = member_api.patch(f"/api/v1/goals/{goal['id']}", {"shared": True}, format="json")
    assert shared.status_code == 200 and shared.json()["shared"] is True
    assert [g["name"] for g in admin_api.get("/api/v1/goals/uptake").json()["shared_goals"]] == ["Shamba"]
    stopped = member_api.patch(f"/api/v1/goals/{goal['id']}", {"status": "cancelled"}, format="json")
    assert stopped.json()["challenge_status"] == "cancelled"
    assert Challenge.objects.get(pk=goal["challenge_id"]).status == "cancelled"
    assert member_api.get("/api/v1/streak-freezes").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"name": "", "target_amount": "100"}, "name"),
    ({"name": "x", "target_amount": "-1"}, "target_amount"),
    ({"name": "x", "target_amount": "abc"}, "target_amount"),
    ({"name": "x", "target_amount": "100", "target_date": "2001-01-01"}, "target_date"),
    ({"name": "x", "target_amount": "100", "frequency": "hourly"}, "frequency"),
])
def test_junk_is_a_400_naming_the_field(member_api, body, field):
    response = member_api.post("/api/v1/goals", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content


def test_a_goal_amount_cannot_be_patched(member_api):
    goal = member_api.post("/api/v1/goals", {"name": "Fees", "target_amount": "100"}, format="json").json()
    response = member_api.patch(f"/api/v1/goals/{goal['id']}", {"name": "School fees", "target_amount": "5"},
                                format="json")
    assert response.status_code == 200 and response.json()["target_amount"] == "100.00"  # unknown fields ignored


def test_openapi_schema_lists_goals_and_freezes(admin_api):
    response = admin_api.get("/api/v1/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/v1/goals", "/api/v1/goals/{id}", "/api/v1/goals/uptake", "/api/v1/streak-freezes"):
        assert f"{path}:" in text, path
    assert "freezes_held" in text and "per_week" in text and "goals_count" in text and "freeze_every" in text
