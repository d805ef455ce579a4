"""Each metric over hand-built data with known answers (read live, before any rollup)."""

from __future__ import annotations

from datetime import date

from analytics import selectors
from tests.analytics.conftest import at


def test_overview_counts_only_verified_deposits_and_active_members(tenant, frozen_now, make_member, make_deposit):
    a, b, c = make_member("2026-01-05"), make_member("2026-02-02"), make_member("2026-03-16")
    make_member("2026-01-05", is_active=False)  # deactivated: not a member any more
    make_deposit(a, 100, at("2026-03-17"))  # in 7d and 30d
    make_deposit(a, 50, at("2026-03-01"))  # in 30d only
    make_deposit(b, "200.50", at("2026-02-10"))  # older than 30 days
    make_deposit(c, 500, at("2026-03-18", "08:00"), status="failed")
    make_deposit(c, 700, at("2026-03-18", "08:00"), status="pending")
    make_deposit(None, 900, at("2026-03-18", "08:00"), status="unmatched")

    got = selectors.analytics_overview()

    assert got["total_saved"] == "350.50"
    assert got["deposits_count"] == 3
    assert got["average_deposit"] == "116.83"
    assert got["members"] == 3
    assert got["active_savers_7d"] == 1
    assert got["active_savers_30d"] == 1
    assert got["participation_rate"] == 0.0


def test_active_savers_window_edges_are_local_days(tenant, frozen_now, make_member, make_deposit):
    a, b, c = make_member(), make_member(), make_member()
    # 30-day window = 2026-02-17 .. 2026-03-18 in Nairobi.
    make_deposit(a, 10, at("2026-02-17", "00:30"))  # first minute of the window (2026-02-16 21:30 UTC)
    make_deposit(b, 10, at("2026-02-16", "23:30"))  # just outside
    make_deposit(c, 10, at("2026-03-12", "00:10"))  # first day of the 7-day window
    got = selectors.analytics_overview()
    assert got["active_savers_30d"] == 2
    assert got["active_savers_7d"] == 1


def test_week_boundary_follows_africa_nairobi(tenant, frozen_now, make_member, make_deposit):
    saver = make_member()
    # Both moments are on Sunday in UTC; in Nairobi the second is already Monday (a new ISO week).
    make_deposit(saver, 100, at("2026-03-15", "23:30"))  # Sun 20:30 UTC
    make_deposit(saver, 40, at("2026-03-16", "00:30"))  # Sun 21:30 UTC

    weekly = selectors.analytics_savings_trends(first=date(2026, 3, 9), last=date(2026, 3, 18), granularity="week")
    assert [(p["period"], p["amount"], p["deposits_count"]) for p in weekly["series"]] == [
        ("2026-03-09", "100.00", 1),
        ("2026-03-16", "40.00", 1),
    ]
    daily = selectors.analytics_savings_trends(first=date(2026, 3, 15), last=date(2026, 3, 16), granularity="day")
    assert [(p["period"], p["amount"]) for p in daily["series"]] == [("2026-03-15", "100.00"), ("2026-03-16", "40.00")]


def test_trends_per_month_and_per_challenge(tenant, frozen_now, make_member, make_deposit, make_challenge):
    a, b = make_member(), make_member()
    weekly = make_challenge(name="Weekly")
    make_deposit(a, 100, at("2026-02-03"), challenge=weekly)
    make_deposit(b, 30, at("2026-02-20"))
    make_deposit(a, 70, at("2026-03-02"), challenge=weekly)
    make_deposit(a, 5, at("2026-03-03"), challenge=weekly)

    monthly = selectors.analytics_savings_trends(first=date(2026, 2, 1), last=date(2026, 3, 18), granularity="month")
    assert [(p["period"], p["amount"], p["deposits_count"], p["savers"]) for p in monthly["series"]] == [
        ("2026-02-01", "130.00", 2, 2),
        ("2026-03-01", "75.00", 2, 1),
    ]
    assert monthly["total_saved"] == "205.00" and monthly["savers"] == 2
    only = selectors.analytics_savings_trends(
        first=date(2026, 2, 1), last=date(2026, 3, 18), granularity="month", challenge_id=weekly.pk
    )
    assert [(p["period"], p["amount"]) for p in only["series"]] == [("2026-02-01", "100.00"), ("2026-03-01", "75.00")]
    assert only["savers"] == 1


def test_retention_cohort(tenant, frozen_now, make_member, make_deposit):
    # Cohort of the week starting Monday 2026-02-02: three members.
    m1, m2, m3 = make_member("2026-02-02"), make_member("2026-02-04"), make_member("2026-02-08")
    later = make_member("2026-02-09")  # next cohort
    make_deposit(m1, 10, at("2026-02-03"))  # week 0
    make_deposit(m1, 10, at("2026-02-10"))  # week 1
    make_deposit(m1, 10, at("2026-02-17"))  # week 2
    make_deposit(m2, 10, at("2026-02-05"))  # week 0
    make_deposit(m2, 10, at("2026-02-16", "00:15"))  # week 2 (Sunday 21:15 UTC: still week 2 in Nairobi)
    make_deposit(later, 10, at("2026-02-10"))  # its own week 0

    cohorts = selectors.analytics_engagement(first=date(2026, 2, 1), last=date(2026, 2, 22))["retention_cohorts"]
    first, second = cohorts
    assert first["cohort"] == "2026-02-02" and first["members"] == 3
    assert [(r["week"], r["savers"], r["rate"]) for r in first["retention"]] == [
        (0, 2, 0.6667),
        (1, 1, 0.3333),
        (2, 2, 0.6667),
    ]  # the window ends on Sunday 2026-02-22, in week 2 of this cohort
    assert second["cohort"] == "2026-02-09" and second["members"] == 1
    assert [(r["week"], r["savers"]) for r in second["retention"]] == [(0, 1), (1, 0)]
    assert m3.pk  # in the cohort, never saved


def test_completion_and_failure_rates(tenant, frozen_now, make_member, make_deposit, make_challenge, make_event,
                                     make_participant):
    # Ended fixed_amount challenge: 100 KES in each of its 2 weeks (W1 2-8 Feb, W2 9-15 Feb).
    ended = make_challenge(name="Feb sprint", start="2026-02-02", days=14, status="completed")
    running = make_challenge(name="March", start="2026-03-02", days=28)
    u1, u2, u3, u4, u5 = (make_member() for _ in range(5))
    make_member()  # takes part in nothing
    make_deposit(u1, 150, at("2026-02-05"), challenge=ended)
    make_deposit(u1, 100, at("2026-02-12"), challenge=ended)
    make_deposit(u2, 250, at("2026-02-05"), challenge=ended)  # all in W1: W2 unmet
    make_deposit(u4, 120, at("2026-02-05"), challenge=ended)
    make_deposit(u4, 100, at("2026-02-15", "23:30"), challenge=ended)  # still Sunday of W2 in Nairobi
    make_event("challenge_joined", u3, at("2026-02-02"), challenge_id=ended.pk)  # joined, never saved
    make_deposit(u5, 100, at("2026-03-03"), challenge=running)
    make_deposit(u5, 100, at("2026-03-10"), challenge=running)  # on track in week 3
    for user, challenge, status in ((u1, ended, "completed"), (u2, ended, "failed"), (u3, ended, "failed"),
                                    (u4, ended, "completed"), (u5, running, "active")):
        assert make_participant(user, challenge).status == status

    got = selectors.analytics_engagement(first=date(2026, 2, 1), last=date(2026, 3, 18))["completion"]
    assert got == {
        "participants": 5,
        "active": 1,
        "completed": 2,
        "failed": 2,
        "completion_rate": 0.4,
        "failure_rate": 0.4,
    }
    only = selectors.analytics_engagement(first=None, last=None, challenge_id=ended.pk)["completion"]
    assert (only["participants"], only["completion_rate"], only["failure_rate"]) == (4, 0.5, 0.5)
    overview = selectors.analytics_overview()
    assert overview["completion_rate"] == 0.4 and overview["challenge_participants"] == 5
    assert overview["participation_rate"] == 0.8333  # five of six members take part


def test_streak_distribution(tenant, frozen_now, make_member, make_deposit):
    three, one, lapsed, never = make_member(), make_member(), make_member(), make_member()
    for day in ("2026-03-02", "2026-03-10", "2026-03-16"):
        make_deposit(three, 10, at(day))
    make_deposit(three, 10, at("2026-02-16"))  # an older island: best 1, not current
    make_deposit(one, 10, at("2026-03-13"))  # last week: the streak is still alive
    make_deposit(lapsed, 10, at("2026-02-23"))  # two weeks ago: broken
    got = selectors.analytics_engagement(first=date(2026, 1, 1), last=date(2026, 3, 18))["streaks"]
    assert got == [
        {"weeks": "0", "members": 2},
        {"weeks": "1", "members": 1},
        {"weeks": "2", "members": 0},
        {"weeks": "3", "members": 1},
        {"weeks": "4-7", "members": 0},
        {"weeks": "8+", "members": 0},
    ]
    assert never.pk


def test_notification_to_deposit_conversion(tenant, frozen_now, make_member, make_event):
    u1, u2, u3 = make_member(), make_member(), make_member()
    make_event("notification_opened", u1, at("2026-03-10", "08:00"))
    make_event("deposit_verified", u1, at("2026-03-10", "10:00"))  # within 24 h: converted
    make_event("notification_opened", u2, at("2026-03-10", "08:00"))
    make_event("deposit_verified", u2, at("2026-03-11", "14:00"))  # 30 h later: not
    make_event("notification_opened", u3, at("2026-03-11", "08:00"))
    make_event("deposit_verified", u1, at("2026-03-11", "09:00"))  # someone else's deposit
    make_event("deposit_verified", u3, at("2026-03-11", "07:00"))  # before the open
    make_event("login", u3, at("2026-03-11", "07:00"))
    got = selectors.analytics_engagement(first=date(2026, 3, 1), last=date(2026, 3, 18))
    assert got["notifications"] == {"opened": 3, "converted": 1, "conversion_rate": 0.3333}
    assert got["logins"] == 1


def test_a_reversal_nets_out_on_its_own_day(tenant, frozen_now, make_member, make_deposit):
    # payments.transaction_reverse: the original is marked "reversed" and a verified row with the
    # negative amount is added when the reversal happens.
    saver = make_member()
    original = make_deposit(saver, 100, at("2026-03-02"))
    make_deposit(saver, 40, at("2026-03-03"))
    original.status = "reversed"
    original.save(update_fields=["status"])
    make_deposit(saver, -100, at("2026-03-09"), source="reversal", reverses=original)

    assert selectors.analytics_overview()["total_saved"] == "40.00"
    daily = selectors.analytics_savings_trends(first=date(2026, 3, 2), last=date(2026, 3, 9), granularity="day")
    amounts = {p["period"]: p["amount"] for p in daily["series"]}
    assert (amounts["2026-03-02"], amounts["2026-03-03"], amounts["2026-03-09"]) == ("100.00", "40.00", "-100.00")
    assert daily["total_saved"] == "40.00"
