"""The beat entry, the backfill command's arguments and the demo seed."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from analytics.models import DailyRollup, Event


def test_nightly_rollup_is_scheduled_from_public():
    from savegame.celery import _collect_beat_schedule

    entry = _collect_beat_schedule()["analytics-rollup-nightly"]
    assert entry["task"] == "analytics.rollup_dispatch" and entry["tenant_schemas"] == ["public"]


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-03-10", "--to", "2026-03-01"], "--from is after --to"),
    (["--from", "10/03/2026"], "is not a date"),
    (["--org", "nobody"], "Unknown organization: nobody"),
])
def test_backfill_refuses_bad_arguments(db, org, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("analytics_backfill", *args, stdout=io.StringIO())


def test_backfill_command_rolls_a_range_for_one_org(tenant, frozen_now, make_member, make_deposit):
    from django.db import connection

    from tests.analytics.conftest import at

    make_deposit(make_member("2026-03-01"), 70, at("2026-03-05"))
    out = io.StringIO()
    call_command("analytics_backfill", "--org", "alpha", "--from", "2026-03-04", "--to", "2026-03-06", stdout=out)
    connection.set_tenant(tenant)
    # No rollups before --from existed, so the range starts at the first activity (2026-03-01).
    assert "alpha: 6 day(s) rolled up" in out.getvalue()
    assert DailyRollup.objects.get(day="2026-03-05", challenge__isnull=True).deposits_amount == 70


def test_demo_seed_is_idempotent(tenant, make_member):
    from analytics import demo

    members = [make_member(), make_member()]
    demo.seed(tenant, members)
    first = (Event.objects.count(), DailyRollup.objects.count())
    demo.seed(tenant, members)
    assert (Event.objects.count(), DailyRollup.objects.count()) == first and first[0] > 0
