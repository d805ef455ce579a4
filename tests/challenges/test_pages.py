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


def _rows(html: str, marker: str) -> list[tuple[dict, list[str]]]:
    """(tr attributes, cell texts) of the table rows after `marker` (up to its </tbody>)."""
    import re
    from html import unescape

    body = html.split(marker, 1)[1].split("</tbody>", 1)[0]
    rows = []
    for attrs, inner in re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.S):
        cells = [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", inner, re.S)]
        if cells:  # not the head row
            rows.append((dict(re.findall(r'([\w-]+)="([^"]*)"', attrs)), cells))
    return rows


def _group_with_teams(make_challenge, make_member, member):
    """A running group challenge: Simba (the member and Baraka) and Twiga (Chebet), nobody saved yet."""
    from challenges.services import team_create, team_join

    challenge = make_challenge(type="group", target={"team_amount": "1000", "min_members": 2}, name="Team up",
                               start=timezone.localdate() - timedelta(days=1))
    baraka, chebet = make_member(name="Baraka Mwangi"), make_member(name="Chebet Koech")
    simba = team_create(challenge=challenge, user=member, name="Simba", join=True)
    team_join(team=simba, user=baraka)
    twiga = team_create(challenge=challenge, user=chebet, name="Twiga", join=True)
    return challenge, simba, twiga, baraka, chebet


def test_group_page_shows_the_team_board_and_my_teams_own_board(member_web, make_challenge, make_member, member,
                                                                 record_deposit, django_capture_on_commit_callbacks):
    """Issue 16 item 7: teams ranked by their total with the goal and members, my team marked, and inside it
    the board of my teammates, streamed live from the team's own stream (?team=)."""
    challenge, simba, twiga, baraka, chebet = _group_with_teams(make_challenge, make_member, member)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):  # the boards' write-through runs after commit
        record_deposit(chebet, "1500", today, challenge=challenge)
        record_deposit(baraka, "300", today, challenge=challenge)
    html = member_web.get(f"/challenges/{challenge.pk}/").content.decode()
    board = _rows(html, 'class="table stack team-board"')
    assert [cells[:5] for _, cells in board] == [["1", "Twiga", "1,500.00", "1,000.00", "1 (at least 2)"],
                                                 ["2", "Simba my team", "300.00", "1,000.00", "2 (at least 2)"]]
    assert [attrs.get("aria-current") for attrs, _ in board] == [None, "true"]
    mine = _rows(html, 'id="rows"')  # the board inside my team: teammates only, ranked by points
    assert [cells[1] for _, cells in mine] == ["Baraka Mwangi", "Akinyi Otieno you"]
    assert mine[1][0].get("aria-current") == "true" and mine[1][1][0] == "–"
    assert f'/challenges/{challenge.pk}/leaderboard/stream?team={simba.pk}"' in html  # the team's own stream
    assert f'data-api="/api/v1/challenges/{challenge.pk}/leaderboard?limit=20&amp;team={simba.pk}"' in html
    me = html.split('<div id="me">')[1].split("</div>")[0]
    assert "You have no points yet" in me  # I have not saved: how to start, not "number 2 with 0 points"


def test_boards_at_zero_say_nobody_has_points_yet(member_web, make_challenge, make_member, member, live_challenge):
    """Item 7: with everyone at 0 no page says "You are number 3 with 0 points. 0 points to move up"."""
    from challenges.services import participant_join

    challenge, *_ = _group_with_teams(make_challenge, make_member, member)
    for user in (make_member(name="Otieno Ouma"), make_member(name="Wanjiru Kamau"), member):
        participant_join(challenge=live_challenge, user=user)
    for path in (f"/challenges/{live_challenge.pk}/leaderboard/", f"/challenges/{challenge.pk}/leaderboard/",
                 f"/challenges/{challenge.pk}/"):
        html = member_web.get(path).content.decode()
        me = html.split('<div id="me">')[1].split("</div>")[0]
        assert "You are number" not in me and "points to move up" not in me, path
        assert "You have no points yet. Your first deposit puts you on the board." in me, path
        assert "Nobody has points yet." in html.split('id="lb-empty"')[1].split("</p>")[0], path
        assert 'id="lb-empty" class="empty" hidden' not in html, path
    team_page = member_web.get(f"/challenges/{challenge.pk}/").content.decode()
    assert "No team has saved yet." in team_page
    ranks = [cell.split(">", 1)[1].split("<")[0] for cell in team_page.split('<td data-label="#"')[1:]]
    assert ranks == ["–", "–"]  # nobody leads at 0


def test_a_level_score_is_not_zero_points_to_move_up(member_web, live_challenge, make_member, member, record_deposit,
                                                      django_capture_on_commit_callbacks):
    from challenges.services import participant_join

    other = make_member(name="Otieno Ouma")
    for user in (other, member):
        participant_join(challenge=live_challenge, user=user)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(other, "500", today, challenge=live_challenge)
        record_deposit(member, "500", today, challenge=live_challenge)
    html = member_web.get(f"/challenges/{live_challenge.pk}/leaderboard/").content.decode()
    me = html.split('<div id="me">')[1].split("</div>")[0]
    assert "0 points to move up" not in me
    assert "You are number 2 with" in me and "Level on points with number 1: your savings decide who is ahead." in me, me
