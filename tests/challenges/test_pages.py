"""Member and leader pages over HTTP (the live leaderboard stream itself: tests/live)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from challenges.models import Challenge, Participant


@pytest.fixture
def live_challenge(make_challenge):
    return make_challenge(start=timezone.localdate() - timedelta(days=1), days=28, name="Weekly 500")


@pytest.fixture
def member_web(client_for, org, member):
    client = client_for(org)
    client.force_login(member)
    return client


@pytest.fixture
def admin_web(client_for, org, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    return client


def test_member_pages_join_and_progress(member_web, live_challenge, member):
    listing = member_web.get("/challenges/")
    assert listing.status_code == 200 and "Weekly 500" in listing.content.decode()
    detail = member_web.get(f"/challenges/{live_challenge.pk}/")
    assert "Save at least KES 500.00 every week" in detail.content.decode()
    joined = member_web.post(f"/challenges/{live_challenge.pk}/", {"action": "join"})
    assert joined.status_code == 302 and Participant.objects.filter(challenge=live_challenge, user=member).exists()
    detail = member_web.get(f"/challenges/{live_challenge.pk}/").content.decode()
    assert "My progress" in detail and "0 of " in detail and "periods met" in detail
    board = member_web.get(f"/challenges/{live_challenge.pk}/leaderboard/").content.decode()
    from django.contrib.staticfiles import finders  # the live script is a static file (CSP)

    assert member.name in board and "/static/js/leaderboard.js" in board and 'id="leaderboard-live"' in board
    assert "EventSource" in open(finders.find("js/leaderboard.js")).read()
    badges = member_web.get("/badges/").content.decode()
    assert "First deposit" in badges and "How to earn" in badges


def test_pages_need_login_and_hide_drafts(client_for, org, member_web, make_challenge):
    assert client_for(org).get("/challenges/").status_code == 302
    draft = make_challenge(status="draft")
    assert member_web.get(f"/challenges/{draft.pk}/").status_code == 404
    assert member_web.get("/manage/challenges/").status_code == 403


def test_group_page_team_flow(member_web, make_challenge, member):
    challenge = make_challenge(type="group", target={"team_amount": "1000", "min_members": 2},
                               start=timezone.localdate(), name="Team up")
    member_web.post(f"/challenges/{challenge.pk}/", {"action": "join"})
    member_web.post(f"/challenges/{challenge.pk}/", {"action": "team-create", "name": "Simba"})
    page = member_web.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "Simba" in page and "My team" in page
    assert Participant.objects.get(challenge=challenge, user=member).team.name == "Simba"


def test_manage_create_preview_publish(admin_web):
    start = (timezone.localdate() + timedelta(days=2)).isoformat()
    form = {"name": "Streak 4", "type": "streak", "start_date": start, "duration_days": 35,
            "streak_unit": "consecutive_weeks", "streak_length": 4, "min_amount": "100"}
    preview = admin_web.post("/manage/challenges/new/", {**form, "action": "preview"})
    assert preview.status_code == 200 and "Save in 4 weeks in a row" in preview.content.decode()
    assert not Challenge.objects.exists()
    bad = admin_web.post("/manage/challenges/new/", {**form, "streak_length": 9, "action": "save"})
    assert bad.status_code == 200 and "too short" in bad.content.decode()
    saved = admin_web.post("/manage/challenges/new/", {**form, "action": "save"})
    challenge = Challenge.objects.get()
    assert saved.status_code == 302 and challenge.target == {"consecutive_weeks": 4, "min_amount": "100.00"}
    assert challenge.status == "draft"
    admin_web.post("/manage/challenges/", {"challenge": challenge.pk, "action": "publish"})
    challenge.refresh_from_db()
    assert challenge.status == "active"
    listing = admin_web.get("/manage/challenges/").content.decode()
    assert "Streak 4" in listing and "Cancel" in listing


def test_the_web_tier_sends_streams_to_the_live_process(member_web, live_challenge, settings):
    """Streams are the `live` process's (tests/live); the WSGI tier answers 503 + Retry-After so the page polls."""
    response = member_web.get(f"/challenges/{live_challenge.pk}/leaderboard/stream")
    assert response.status_code == 503 and response["Retry-After"] == str(settings.LIVE_RETRY_AFTER_SECONDS)


def test_manage_edit_an_active_challenge_changes_only_words(admin_web, live_challenge):
    page = admin_web.get(f"/manage/challenges/{live_challenge.pk}/")
    assert page.status_code == 200 and "only its name and description can change" in page.content.decode()
    form = {"name": "Weekly 500 (March)", "description": "New words", "type": "streak", "start_date": "2030-01-01",
            "duration_days": 7, "amount": "500", "frequency": "weekly", "action": "save"}
    assert admin_web.post(f"/manage/challenges/{live_challenge.pk}/", form).status_code == 302
    live_challenge.refresh_from_db()
    assert (live_challenge.name, live_challenge.description, live_challenge.type) == (
        "Weekly 500 (March)", "New words", "fixed_amount")
    assert admin_web.get("/manage/challenges/999999/").status_code == 404


def test_leaderboard_marks_my_own_row(member_web, live_challenge, member):
    from challenges.services import participant_join

    participant_join(challenge=live_challenge, user=member)
    html = member_web.get(f"/challenges/{live_challenge.pk}/leaderboard/").content.decode()
    row = html.split('aria-current="true"')[1].split("</tr>")[0]
    assert member.name in row and '<span class="badge">you</span>' in row
