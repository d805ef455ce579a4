"""The live hub against a real server (uvicorn in a thread), real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import aiohttp
import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from challenges import leaderboard
from tests.live.conftest import headers_for, hub_server, read_events, session_for



def _score(schema: str, challenge, user, points: int, version: int, saved: str = "100.00", team=None) -> None:
    from challenges.models import Participant

    with schema_context(schema):
        Participant.objects.filter(challenge=challenge, user=user).update(
            points=points, version=version, total_contributed=Decimal(saved))
        participant = Participant.objects.get(challenge=challenge, user=user)
        leaderboard.updates_apply([leaderboard.BoardUpdate(
            challenge_id=challenge.pk, team_id=team.pk if team is not None else None, participant_id=participant.pk, user_id=user.pk,
            version=version, points=points, total_saved=Decimal(saved), name=user.name)], schema=schema)


def _url(port: int, challenge) -> str:
    return f"http://127.0.0.1:{port}/challenges/{challenge.pk}/leaderboard/stream"


def test_stream_starts_with_the_board_and_me_then_coalesces_changes(committed_org, live_members):
    challenge, (akinyi, baraka) = live_members(2)
    schema = committed_org.schema_name
    key = session_for(committed_org, akinyi)
    _score(schema, challenge, akinyi, 300, 10)

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            async with http.get(_url(port, challenge) + "?seconds=5", headers=headers_for(committed_org, key)) as resp:
                assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
                first = await read_events(resp, until=lambda e: len(e) >= 3, timeout=5)
                # a burst of 10 changes within 200 ms
                for step in range(10):
                    await asyncio.to_thread(_score, schema, challenge, baraka, 100 + 50 * step, 20 + step)
                    await asyncio.sleep(0.02)
                burst = await read_events(resp, until=lambda e: False, timeout=1.6)
                return first, burst

    with hub_server() as port:
        first, burst = asyncio.run(scenario(port))
    assert first[0][0] == "ready"
    event, data, event_id = first[1]
    assert event == "scores" and event_id is not None
    state = json.loads(data)
    assert "me" not in state  # the board is the same bytes for every viewer; "me" is the viewer's own event
    assert [row["user"]["id"] for row in state["results"]] == [akinyi.pk, baraka.pk] and state["count"] == 2
    assert first[2][0] == "me"
    me = json.loads(first[2][1])
    assert me["rank"] == 1 and me["score"] == 300 and me["gap_to_next"] is None
    scores = [json.loads(d) for e, d, _ in burst if e == "scores"]
    mes = [json.loads(d) for e, d, _ in burst if e == "me"]
    # at most one per 500 ms (the burst spans ~0.4 s, we listened 1.6 s after it), and the last is the latest
    assert 1 <= len(scores) <= 3 and 1 <= len(mes) <= len(scores)
    assert [e for e, _, _ in burst][-2:] == ["scores", "me"]  # my line moved with the last change
    assert scores[-1]["results"][0]["user"]["id"] == baraka.pk and scores[-1]["results"][0]["score"] == 550
    assert mes[-1] == {"rank": 2, "user": {"id": akinyi.pk, "name": akinyi.name}, "score": 300,
                                "total_saved": "100.00", "gap_to_next": 250}


def test_unchanged_board_is_not_resent_on_reconnect(committed_org, live_members):
    challenge, (akinyi,) = live_members(1)
    key = session_for(committed_org, akinyi)
    _score(committed_org.schema_name, challenge, akinyi, 10, 5)

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            async with http.get(_url(port, challenge) + "?seconds=1", headers=headers_for(committed_org, key)) as resp:
                first = await read_events(resp, until=lambda e: len(e) >= 3, timeout=5)
            version = first[1][2]
            headers = headers_for(committed_org, key, **{"Last-Event-ID": version})
            async with http.get(_url(port, challenge) + "?seconds=1", headers=headers) as resp:
                again = await read_events(resp, until=lambda e: False, timeout=1.5)
            return first, again

    with hub_server() as port:
        first, again = asyncio.run(scenario(port))
    assert [e for e, _, _ in first] == ["ready", "scores", "me"]
    assert [e for e, _, _ in again] == ["ready"]


def test_strangers_and_other_hosts_are_refused(committed_org, other_org, live_members):
    challenge, (akinyi,) = live_members(1)
    key = session_for(committed_org, akinyi)

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            statuses = []
            for headers in (headers_for(committed_org), headers_for(other_org, key),
                            headers_for(committed_org, key, Origin=f"http://{other_org.slug}.{settings.BASE_DOMAIN}:8000")):
                async with http.get(_url(port, challenge) + "?seconds=0.2", headers=headers) as resp:
                    statuses.append(resp.status)
            async with http.get(f"http://127.0.0.1:{port}/challenges/999999/leaderboard/stream",
                                headers=headers_for(committed_org, key)) as resp:
                statuses.append(resp.status)
            return statuses

    with hub_server() as port:
        assert asyncio.run(scenario(port)) == [401, 401, 403, 404]


def test_200_streams_of_one_member_get_5_through_and_hold_no_database_connection(committed_org, live_members,
                                                                                  settings, pg_connections):
    challenge, (akinyi,) = live_members(1)
    key = session_for(committed_org, akinyi)
    before = pg_connections()

    async def scenario(port):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            async def one():
                resp = await http.get(_url(port, challenge) + "?seconds=20", headers=headers_for(committed_org, key))
                if resp.status != 200:
                    retry_after = resp.headers.get("Retry-After")
                    resp.release()
                    return resp.status, retry_after, None
                await read_events(resp, until=lambda e: len(e) >= 1, timeout=5)
                return 200, None, resp

            results = await asyncio.gather(*(one() for _ in range(200)))
            during = pg_connections()
            for _, _, resp in results:
                if resp is not None:
                    resp.close()
            return results, during

    with hub_server() as port:
        results, during = asyncio.run(scenario(port))
    statuses = sorted(status for status, _, _ in results)
    assert (statuses.count(200), statuses.count(429)) == (5, 195), sorted(set(statuses))
    assert all(retry == str(settings.LIVE_RETRY_AFTER_SECONDS) for status, retry, _ in results if status == 429)
    assert during - before <= settings.LIVE_DB_THREADS


def test_a_full_process_answers_503_with_retry_after(committed_org, live_members, settings):
    settings.LIVE_MAX_STREAMS = 3
    challenge, members = live_members(4)
    keys = [session_for(committed_org, member) for member in members]

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            opened = []
            for key in keys:
                resp = await http.get(_url(port, challenge) + "?seconds=5", headers=headers_for(committed_org, key))
                opened.append(resp)
            result = [(resp.status, resp.headers.get("Retry-After")) for resp in opened]
            for resp in opened:
                resp.close()
            return result

    with hub_server() as port:
        result = asyncio.run(scenario(port))
    assert result == [(200, None)] * 3 + [(503, str(settings.LIVE_RETRY_AFTER_SECONDS))]


def test_the_streams_of_a_dead_process_lapse_after_their_lease(settings):
    """A process that dies never gives its places back; its leases lapse, so the member is not locked out."""
    from live.hub import Hub, Stream

    settings.LIVE_LEASE_SECONDS = 1.0

    async def scenario():
        dead, alive = Hub(), Hub()
        await dead.start()
        await alive.start()
        try:
            for _ in range(settings.LIVE_STREAMS_PER_USER):
                assert await dead.open(Stream(schema="org_x", user_id=7)) is None
            for task in dead._tasks:  # it dies: no more renewals, no closes
                task.cancel()
            refused_now = await alive.open(Stream(schema="org_x", user_id=7))
            await asyncio.sleep(1.3)
            later = await alive.open(Stream(schema="org_x", user_id=7))
            return refused_now, later
        finally:
            await alive.stop()
            await dead.stop()

    assert asyncio.run(scenario()) == ("user", None)


def test_a_live_process_keeps_its_leases_past_their_first_life(settings):
    from live.hub import Hub, Stream

    settings.LIVE_LEASE_SECONDS = 0.6

    async def scenario():
        hub = Hub()
        await hub.start()
        try:
            for _ in range(settings.LIVE_STREAMS_PER_USER):
                assert await hub.open(Stream(schema="org_x", user_id=8)) is None
            await asyncio.sleep(1.5)  # renewed every 0.2 s
            return await hub.open(Stream(schema="org_x", user_id=8))
        finally:
            await hub.stop()

    assert asyncio.run(scenario()) == "user"


def test_a_notice_reaches_only_its_members_notification_streams(committed_org, live_members):
    from live.publish import notice_publish

    _challenge, (akinyi, baraka) = live_members(2)
    keys = {user.pk: session_for(committed_org, user) for user in (akinyi, baraka)}
    url = "/live/notifications?seconds=3"

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            mine = await http.get(f"http://127.0.0.1:{port}{url}", headers=headers_for(committed_org, keys[akinyi.pk]))
            theirs = await http.get(f"http://127.0.0.1:{port}{url}", headers=headers_for(committed_org, keys[baraka.pk]))
            assert (mine.status, theirs.status) == (200, 200)
            has_tiles = lambda e: any(event == "tiles" for event, _, _ in e)  # noqa: E731
            opening = await read_events(mine, until=has_tiles, timeout=10)
            await read_events(theirs, until=has_tiles, timeout=10)
            await asyncio.to_thread(notice_publish, user_id=akinyi.pk, event="badge",
                                    data={"name": "First deposit"}, schema=committed_org.schema_name)
            got = await read_events(mine, until=lambda e: len(e) >= 1, timeout=3)
            other = await read_events(theirs, until=lambda e: len(e) >= 1, timeout=1)
            mine.close()
            theirs.close()
            return opening, got, other

    with hub_server() as port:
        opening, got, other = asyncio.run(scenario(port))
    # the stream opens with my home tiles, read from the web app's selector (nothing saved yet)
    assert [e for e, _, _ in opening] == ["ready", "tiles"]
    tiles = json.loads(opening[1][1])
    assert (tiles["points"], tiles["total_saved"], tiles["streak_weeks"], tiles["deposits"]) == (0, "0.00", 0, 0)
    assert [(e, json.loads(d)) for e, d, _ in got] == [("badge", {"name": "First deposit"})]
    assert other == []


def test_the_outbox_publishes_a_notice_only_after_its_transaction_commits(committed_org, live_members):
    from django.db import transaction

    from notifications.live import user_channel
    from notifications.services import notify
    from savegame.redis import redis_client

    _challenge, (akinyi,) = live_members(1)
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(user_channel(committed_org.schema_name, akinyi.pk))
    try:
        with schema_context(committed_org.schema_name):
            with transaction.atomic():
                notify(user=akinyi, template="badge_earned", context={"badge": "First deposit"})
                notify(user=akinyi, template="streak_at_risk", context={"challenge": "Live board", "streak": 2})
                before_commit = pubsub.get_message(timeout=0.5)
            after = [pubsub.get_message(timeout=2.0), pubsub.get_message(timeout=0.5)]
    finally:
        pubsub.close()
    assert before_commit is None
    notices = [json.loads(m["data"]) for m in after if m]
    assert [(n["event"], n["data"]["template"]) for n in notices] == [("notice", "badge_earned")]  # not every SMS
    assert "First deposit" in notices[0]["data"]["message"] and notices[0]["data"]["id"]


def test_a_team_stream_carries_its_own_board_and_moves_with_its_members(committed_org, live_members):
    from challenges.models import Participant, Team

    challenge, (akinyi, baraka, chebet) = live_members(3)
    schema = committed_org.schema_name
    with schema_context(schema):
        team = Team.objects.create(challenge=challenge, name="Simba")
        Participant.objects.filter(challenge=challenge, user__in=[akinyi, baraka]).update(team=team)
    key = session_for(committed_org, akinyi)
    _score(schema, challenge, akinyi, 100, 30, team=team)
    _score(schema, challenge, baraka, 50, 31, team=team)
    _score(schema, challenge, chebet, 900, 32)  # leads the challenge, not in the team

    async def scenario(port):
        async with aiohttp.ClientSession() as http:
            statuses = []
            for query in ("team=abc", "team=999999"):
                async with http.get(f"{_url(port, challenge)}?{query}", headers=headers_for(committed_org, key)) as r:
                    statuses.append((r.status, await r.text()))
            async with http.get(f"{_url(port, challenge)}?seconds=5&team={team.pk}",
                                headers=headers_for(committed_org, key)) as resp:
                first = await read_events(resp, until=lambda e: len(e) >= 3, timeout=5)
                await asyncio.to_thread(_score, schema, challenge, baraka, 400, 33, "100.00", team)
                moved = await read_events(resp, until=lambda e: len(e) >= 2, timeout=3)
            return statuses, first, moved

    with hub_server() as port:
        statuses, first, moved = asyncio.run(scenario(port))
    assert [status for status, _ in statuses] == [400, 400] and all("team" in text for _, text in statuses)
    assert [e for e, _, _ in first] == ["ready", "scores", "me"]
    board = json.loads(first[1][1])
    assert [row["user"]["id"] for row in board["results"]] == [akinyi.pk, baraka.pk] and board["count"] == 2
    assert json.loads(first[2][1])["rank"] == 1
    assert [e for e, _, _ in moved] == ["scores", "me"]
    assert [row["user"]["id"] for row in json.loads(moved[0][1])["results"]] == [baraka.pk, akinyi.pk]
    assert json.loads(moved[1][1])["rank"] == 2 and json.loads(moved[1][1])["gap_to_next"] == 300
