"""Redis leaderboards: ordering and ties, top N + me in one read, rebuild from PostgreSQL after a flush."""

from __future__ import annotations

from datetime import date

import pytest

from challenges import leaderboard
from challenges.services import participant_join
from savegame.redis import redis_client


@pytest.fixture
def board_setup(make_challenge, make_member, record_deposit, frozen_today, django_capture_on_commit_callbacks):
    frozen_today(date(2026, 3, 6))
    challenge = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"},
                               start=date(2026, 3, 2), days=28)
    names = ["Early", "Late", "Tie1", "Tie2", "Top", "Zero"]
    members = {name: make_member(name=name) for name in names}
    with django_capture_on_commit_callbacks(execute=True):
        for name in names:
            participant_join(challenge=challenge, user=members[name])
    deposits = [("Early", "250", date(2026, 3, 2)),   # 250 + 50 early bird = 300 points, 250 saved
                ("Late", "300", date(2026, 3, 5)),    # 300 points, 300 saved: above Early (more saved)
                ("Tie2", "100", date(2026, 3, 5)),    # Tie1 and Tie2 tie on points and saved:
                ("Tie1", "100", date(2026, 3, 5)),    # joined earlier (Tie1) ranks first
                ("Top", "1000", date(2026, 3, 5))]
    for name, amount, day in deposits:
        with django_capture_on_commit_callbacks(execute=True):
            record_deposit(members[name], amount, day)
    return challenge, members


def _ranking(board):
    return [(row["user"]["name"], row["score"], row["total_saved"]) for row in board.results]


EXPECTED = [("Top", 1000, "1000.00"), ("Late", 300, "300.00"), ("Early", 300, "250.00"),
            ("Tie1", 100, "100.00"), ("Tie2", 100, "100.00"), ("Zero", 0, "0.00")]


def test_order_follows_design_ties(board_setup):
    challenge, members = board_setup
    board = leaderboard.board_read(challenge_id=challenge.pk, limit=10, user_id=members["Tie2"].pk)
    assert _ranking(board) == EXPECTED
    assert board.me == {"rank": 5, "user": {"id": members["Tie2"].pk, "name": "Tie2"}, "score": 100,
                        "total_saved": "100.00", "gap_to_next": 0}
    early = leaderboard.board_read(challenge_id=challenge.pk, limit=2, user_id=members["Early"].pk)
    assert len(early.results) == 2 and early.me["rank"] == 3 and early.me["gap_to_next"] == 0
    zero = leaderboard.board_read(challenge_id=challenge.pk, limit=1, user_id=members["Zero"].pk)
    assert zero.me["gap_to_next"] == 100
    database = leaderboard.board_from_database(challenge_id=challenge.pk, limit=10, user_id=members["Tie2"].pk)
    assert _ranking(database) == EXPECTED and database.me == board.me


def test_flushing_redis_rebuilds_the_same_ranks(board_setup):
    challenge, members = board_setup
    before = leaderboard.board_read(challenge_id=challenge.pk, limit=10, user_id=members["Early"].pk)
    redis_client().flushdb()
    after = leaderboard.board_read(challenge_id=challenge.pk, limit=10, user_id=members["Early"].pk)
    assert _ranking(after) == _ranking(before) == EXPECTED
    assert after.me == before.me
    assert redis_client().exists(leaderboard.ready_key(challenge.pk))


def test_single_round_trip_for_top_and_me(board_setup, monkeypatch):
    challenge, members = board_setup
    leaderboard.board_read(challenge_id=challenge.pk, limit=3)  # warm the script cache
    calls = []
    client = redis_client()
    original = client.execute_command
    monkeypatch.setattr(client, "execute_command", lambda *a, **k: calls.append(a[0]) or original(*a, **k))
    leaderboard.board_read(challenge_id=challenge.pk, limit=3, user_id=members["Zero"].pk)
    assert calls == ["EVALSHA"]


def test_stale_write_never_rolls_a_score_back(board_setup):
    challenge, members = board_setup
    from challenges.models import Participant

    p = Participant.objects.get(challenge=challenge, user=members["Zero"])
    stale = leaderboard.BoardUpdate(challenge_id=challenge.pk, team_id=None, participant_id=p.pk,
                                    user_id=p.user_id, version=0, points=99999, total_saved=p.total_contributed)
    leaderboard.updates_apply([stale])
    board = leaderboard.board_read(challenge_id=challenge.pk, limit=1, user_id=p.user_id)
    assert board.me["score"] == 0


def test_deposit_publishes_an_event(make_challenge, member, record_deposit, frozen_today,
                                    django_capture_on_commit_callbacks):
    frozen_today(date(2026, 3, 6))
    challenge = make_challenge(start=date(2026, 3, 2))
    with django_capture_on_commit_callbacks(execute=True):
        participant_join(challenge=challenge, user=member)
    pubsub = redis_client().pubsub()
    pubsub.subscribe(leaderboard.channel(challenge.pk))
    pubsub.get_message(timeout=1)  # subscribe confirmation
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(member, "100", date(2026, 3, 5))
    message = pubsub.get_message(timeout=2)
    pubsub.close()
    assert message and message["type"] == "message" and str(member.pk) in message["data"]


def test_top5_entered_is_sent_when_a_deposit_lifts_a_member_in(board_setup, make_member, record_deposit,
                                                               notifications, django_capture_on_commit_callbacks):
    challenge, members = board_setup
    with django_capture_on_commit_callbacks(execute=True):
        record_deposit(members["Zero"], "500", date(2026, 3, 5))  # 500 points: rank 2
    assert [(uid, t, c["rank"]) for uid, t, c in notifications if t == "top5_entered"] == [(members["Zero"].pk,
                                                                                            "top5_entered", 2)]


def test_redis_down_falls_back_to_postgresql(board_setup, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    challenge, members = board_setup

    def down(*args, **kwargs):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(leaderboard, "_read_once", down)
    board = leaderboard.board_read(challenge_id=challenge.pk, limit=10, user_id=members["Tie2"].pk)
    assert _ranking(board) == EXPECTED and board.me["rank"] == 5


def test_scoring_works_with_redis_down(make_challenge, member, record_deposit, frozen_today, monkeypatch,
                                       django_capture_on_commit_callbacks):
    import redis

    from challenges.models import Participant

    frozen_today(date(2026, 3, 6))
    challenge = make_challenge(start=date(2026, 3, 2))
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True,
                       retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(leaderboard, "redis_client", lambda: dead)
    from challenges.services import scoring_batch as services

    monkeypatch.setattr(services, "_redis_failed_at", [0.0])
    with django_capture_on_commit_callbacks(execute=True):
        participant_join(challenge=challenge, user=member)
        record_deposit(member, "300", date(2026, 3, 3))  # 300 points + 50 early bird
    participant = Participant.objects.get(challenge=challenge, user=member)
    assert participant.points == 350 and participant.total_contributed == 300
    board = leaderboard.board_read(challenge_id=challenge.pk, limit=3, user_id=member.pk)
    assert board.me["rank"] == 1 and board.me["score"] == 350
