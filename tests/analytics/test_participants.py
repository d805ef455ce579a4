"""With the gamification participant model installed, completion and participation come from it."""

from __future__ import annotations

import importlib
import os
from datetime import date

import pytest
from django.apps import apps

from analytics import selectors


@pytest.fixture
def participant_model(settings):
    # Gamification is merged: the project's setting names its model (the autouse fixture of this
    # package switches it off for the ledger-derived tests), and this test never skips.
    configured = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"]).ANALYTICS_PARTICIPANT_MODEL
    assert configured == "challenges.Participant"
    settings.ANALYTICS_PARTICIPANT_MODEL = configured
    return apps.get_model(configured)


def test_outcomes_and_participation_come_from_the_participant_model(
    tenant, frozen_now, participant_model, make_member, make_challenge
):
    ended = make_challenge(name="Ended", start="2026-02-02", days=14, status="completed")
    running = make_challenge(name="Running", start="2026-03-02", days=28)
    cancelled = make_challenge(name="Cancelled", start="2026-03-02", days=28, status="cancelled")
    a, b, c, _idle = (make_member() for _ in range(4))
    for user, challenge, status in (
        (a, ended, "completed"), (b, ended, "failed"), (c, ended, "completed"),
        (a, running, "active"), (b, cancelled, "active"),
    ):
        participant_model.objects.create(user=user, challenge=challenge, status=status)

    overview = selectors.analytics_overview()
    assert overview["challenge_participants"] == 4  # the cancelled challenge does not count
    assert (overview["completion_rate"], overview["failure_rate"]) == (0.5, 0.25)
    assert overview["participation_rate"] == 0.75  # a, b, c of four members
    only = selectors.analytics_engagement(first=date(2026, 2, 1), last=None, challenge_id=ended.pk)["completion"]
    assert only == {"participants": 3, "active": 0, "completed": 2, "failed": 1,
                    "completion_rate": 0.6667, "failure_rate": 0.3333}
