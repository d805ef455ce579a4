"""Completion and participation are the game's participations (challenges.selectors.participation_outcomes):
analytics keeps no second rule for who completed a challenge (issue 15 item 3)."""

from __future__ import annotations

from datetime import date

import time_machine

from analytics import selectors, services
from tests.analytics.conftest import at


def test_outcomes_and_participation_come_from_the_participations(tenant, frozen_now, make_member, make_challenge):
    from challenges.models import Participant

    ended = make_challenge(name="Ended", start="2026-02-02", days=14, status="completed")
    running = make_challenge(name="Running", start="2026-03-02", days=28)
    cancelled = make_challenge(name="Cancelled", start="2026-03-02", days=28, status="cancelled")
    a, b, c, _idle = (make_member() for _ in range(4))
    for user, challenge, status in (
        (a, ended, "completed"), (b, ended, "failed"), (c, ended, "completed"),
        (a, running, "active"), (b, cancelled, "active"),
    ):
        Participant.objects.create(user=user, challenge=challenge, status=status)

    overview = selectors.analytics_overview()
    assert overview["challenge_participants"] == 4  # the cancelled challenge does not count
    assert (overview["completion_rate"], overview["failure_rate"]) == (0.5, 0.25)
    assert overview["participation_rate"] == 0.75  # a, b, c of four members
    only = selectors.analytics_engagement(first=date(2026, 2, 1), last=None, challenge_id=ended.pk)["completion"]
    assert only == {"participants": 3, "active": 0, "completed": 2, "failed": 1,
                    "completion_rate": 0.6667, "failure_rate": 0.3333}


def test_a_personal_goal_is_goal_uptake_not_a_challenge_participation(tenant, frozen_now, make_member):
    from challenges.goals import goal_create

    member = make_member()
    goal_create(user=member, name="School fees", target_amount="5000")
    overview = selectors.analytics_overview()
    assert (overview["challenge_participants"], overview["participation_rate"]) == (0, 0.0)
    assert selectors.challenge_completion()["participants"] == 0


def test_the_games_own_path_join_score_settle_is_what_analytics_reports(
        tenant, make_member, make_deposit, make_challenge, django_capture_on_commit_callbacks):
    """Join, deposits scored by the scoring batch, the challenge settled at its end: the statuses the
    game wrote are the figures, live and after the nightly rollup alike."""
    from challenges.services import challenge_settle, deposit_score, participant_join

    def save(user, amount, when):
        with django_capture_on_commit_callbacks(execute=True):
            deposit_score(transaction_id=make_deposit(user, amount, when, challenge=challenge).pk)

    with time_machine.travel(at("2026-03-04", "09:00"), tick=False):
        challenge = make_challenge(name="Two weeks", start="2026-03-02", days=14)  # 100 a week, W10 and W11
        saver, short, _idle = make_member(), make_member(), make_member()
        for user in (saver, short):
            participant_join(challenge=challenge, user=user)
        save(saver, 100, at("2026-03-04", "08:00"))
        save(short, 40, at("2026-03-04", "08:30"))
        running = selectors.challenge_completion()
        assert (running["participants"], running["active"], running["completed"]) == (2, 2, 0)
        assert selectors.analytics_overview()["participation_rate"] == 0.6667
    with time_machine.travel(at("2026-03-11", "09:00"), tick=False):
        save(saver, 150, at("2026-03-11", "08:00"))
        save(short, 100, at("2026-03-11", "08:30"))  # W10 stays short of 100
    with time_machine.travel(at("2026-03-16", "09:00"), tick=False):
        challenge_settle(challenge=challenge)
        settled = selectors.challenge_completion(challenge_id=challenge.pk)
        assert settled == {"participants": 2, "active": 0, "completed": 1, "failed": 1,
                           "completion_rate": 0.5, "failure_rate": 0.5}
        services.rollup_backfill()
        assert selectors.challenge_completion(challenge_id=challenge.pk) == settled
