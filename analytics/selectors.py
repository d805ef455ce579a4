"""Reads for analytics: the org metrics behind the API, the pages and the exports.

Every figure is the rolled-up days (DailyRollup / SaverDay, up to the watermark: the last rolled
day) plus a live computation of the days after it (normally just today), so results are the same
whether or not the nightly job has run, and stay fast as the ledger grows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncDate

from analytics import sources
from analytics.models import DailyRollup, Event, SaverDay, SaverSummary

ZERO = Decimal("0.00")
DAY_FIELDS = [
    "deposits_count",
    "deposits_amount",
    "savers",
    "new_members",
    "members_total",
    "logins",
    "challenge_joins",
    "notifications_opened",
    "notification_conversions",
]
CONVERSION_WINDOW = timedelta(hours=24)
EPOCH = date(2000, 1, 1)
STREAK_BUCKETS = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 7), (8, None)]
MAX_COHORT_WEEKS = 12


# --- the live computation of whole days (also what the rollup job stores) --------------------
@dataclass
class DayFigures:
    """The figures of local days first..last for every scope (None = whole organization)."""

    days: dict[tuple[date, int | None], dict] = field(default_factory=dict)
    saver_days: list[dict] = field(default_factory=list)

    def row(self, day: date, challenge_id: int | None) -> dict:
        key = (day, challenge_id)
        if key not in self.days:
            self.days[key] = {name: 0 for name in DAY_FIELDS} | {"deposits_amount": ZERO}
        return self.days[key]


def day_figures(*, first: date, last: date, tz: ZoneInfo) -> DayFigures:
    """Compute days first..last from the source tables. Every day gets an organization row."""
    out = DayFigures()
    if last < first:
        return out
    day = first
    while day <= last:
        out.row(day, None)
        day += timedelta(days=1)
    start, end = sources.day_start(first, tz), sources.day_start(last + timedelta(days=1), tz)
    positive = sources.positive()

    ledger = sources.ledger_verified(first=first, last=last, tz=tz)
    for r in ledger.values("day").annotate(
        n=Count("id", filter=positive), total=Sum("amount"), savers=Count("user_id", filter=positive, distinct=True)
    ):
        out.row(r["day"], None).update(deposits_count=r["n"], deposits_amount=r["total"] or ZERO, savers=r["savers"])
    for r in (
        ledger.filter(challenge__isnull=False)
        .values("day", "challenge_id")
        .annotate(
            n=Count("id", filter=positive), total=Sum("amount"), savers=Count("user_id", filter=positive, distinct=True)
        )
    ):
        out.row(r["day"], r["challenge_id"]).update(
            deposits_count=r["n"], deposits_amount=r["total"] or ZERO, savers=r["savers"]
        )
    out.saver_days = [
        {
            "day": r["day"],
            "user_id": r["user_id"],
            "challenge_id": r["challenge_id"],
            "deposits_count": r["n"],
            "amount": r["total"],
        }
        for r in ledger.filter(user__isnull=False)
        .values("day", "user_id", "challenge_id")
        .annotate(n=Count("id", filter=positive), total=Sum("amount"))
    ]

    members = sources.members()
    running = members.filter(date_joined__lt=start).count()
    joined = dict(
        members.filter(date_joined__gte=start, date_joined__lt=end)
        .annotate(day=TruncDate("date_joined", tzinfo=tz))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
        .order_by()
    )
    day = first
    while day <= last:
        running += joined.get(day, 0)
        out.row(day, None).update(new_members=joined.get(day, 0), members_total=running)
        day += timedelta(days=1)

    events = (
        Event.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .order_by()
    )
    for r in events.filter(type=Event.Type.LOGIN).values("day").annotate(n=Count("id")):
        out.row(r["day"], None)["logins"] = r["n"]
    known_challenges = set(sources.challenges().values_list("pk", flat=True))
    for r in (
        events.filter(type=Event.Type.CHALLENGE_JOINED)
        .values("day", "properties__challenge_id")
        .annotate(n=Count("id"))
    ):
        out.row(r["day"], None)["challenge_joins"] += r["n"]
        try:
            cid = int(r["properties__challenge_id"])
        except (TypeError, ValueError):
            continue
        if cid in known_challenges:
            out.row(r["day"], cid)["challenge_joins"] += r["n"]
    deposited_after = Event.objects.filter(
        type=Event.Type.DEPOSIT_VERIFIED,
        user_id=OuterRef("user_id"),
        created_at__gt=OuterRef("created_at"),
        created_at__lte=OuterRef("created_at") + CONVERSION_WINDOW,
    )
    for r in (
        events.filter(type=Event.Type.NOTIFICATION_OPENED)
        .annotate(converted=Exists(deposited_after))
        .values("day")
        .annotate(n=Count("id"), converted=Count("id", filter=Q(converted=True)))
    ):
        out.row(r["day"], None).update(notifications_opened=r["n"], notification_conversions=r["converted"])
    return out


# --- rollups + live delta ---------------------------------------------------------------------
def rollup_watermark() -> date | None:
    """The last day the rollup job has written (days up to it are read from the rollups)."""
    return DailyRollup.objects.filter(challenge__isnull=True).aggregate(last=Max("day"))["last"]


@dataclass
class Window:
    """A range of local days split into the rolled-up part and the live part."""

    first: date
    last: date
    tz: ZoneInfo
    watermark: date | None

    @property
    def rolled(self) -> tuple[date, date] | None:
        if self.watermark is None or self.watermark < self.first:
            return None
        return self.first, min(self.last, self.watermark)

    @property
    def live(self) -> tuple[date, date] | None:
        start = self.first if self.watermark is None else max(self.first, self.watermark + timedelta(days=1))
        return (start, self.last) if start <= self.last else None


def window(*, first: date | None, last: date | None, tz: ZoneInfo | None = None) -> Window:
    tz = tz or sources.org_timezone()
    today = sources.local_today(tz)
    last = min(last or today, today)
    first = first or EPOCH
    return Window(first=first, last=last, tz=tz, watermark=rollup_watermark())


def daily_series(*, win: Window, challenge_id: int | None = None) -> list[dict]:
    """One dict per day of the window (DAY_FIELDS plus `day`), zeros on quiet days."""
    by_day: dict[date, dict] = {}
    if win.rolled:
        for r in DailyRollup.objects.filter(day__range=win.rolled, challenge_id=challenge_id).values(
            "day", *DAY_FIELDS
        ):
            by_day[r["day"]] = r
    if win.live:
        live = day_figures(first=win.live[0], last=win.live[1], tz=win.tz)
        for (day, cid), row in live.days.items():
            if cid == challenge_id:
                by_day[day] = {"day": day, **row}
    out, day = [], win.first
    while day <= win.last:
        out.append(by_day.get(day) or {"day": day, **{n: 0 for n in DAY_FIELDS}, "deposits_amount": ZERO})
        day += timedelta(days=1)
    return out


def _totals(*, win: Window, challenge_id: int | None) -> dict:
    """deposits_count and deposits_amount over the window (rollups + live), with few queries."""
    count, amount = 0, ZERO
    if win.rolled:
        agg = DailyRollup.objects.filter(day__range=win.rolled, challenge_id=challenge_id).aggregate(
            n=Sum("deposits_count"), amount=Sum("deposits_amount")
        )
        count, amount = agg["n"] or 0, agg["amount"] or ZERO
    if win.live:
        agg = sources.ledger_verified(
            first=win.live[0], last=win.live[1], tz=win.tz, challenge_id=challenge_id
        ).aggregate(n=Count("id", filter=sources.positive()), total=Sum("amount"))
        count, amount = count + (agg["n"] or 0), amount + (agg["total"] or ZERO)
    return {"deposits_count": count, "deposits_amount": amount}


def saver_user_ids(*, win: Window, challenge_id: int | None = None):
    """Users with a verified deposit on a day in the window: a values_list("user_id") query."""
    parts = []
    if win.rolled:
        qs = SaverDay.objects.filter(day__range=win.rolled, deposits_count__gt=0)
        if challenge_id is not None:
            qs = qs.filter(challenge_id=challenge_id)
        parts.append(qs.values_list("user_id").order_by())
    if win.live:
        qs = sources.ledger_verified(first=win.live[0], last=win.live[1], tz=win.tz, challenge_id=challenge_id)
        parts.append(qs.filter(sources.positive(), user__isnull=False).values_list("user_id").order_by())
    if not parts:
        return None
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0].distinct()


def _count(query) -> int:
    return 0 if query is None else query.count()


def _saver_days_sql(*, win: Window, challenge_id: int | None) -> tuple[str, list] | None:
    """SQL (and params) for rows (user_id, day) with a deposit, over the window."""
    parts = []
    if win.rolled:
        qs = SaverDay.objects.filter(day__range=win.rolled, deposits_count__gt=0)
        if challenge_id is not None:
            qs = qs.filter(challenge_id=challenge_id)
        parts.append(qs.values_list("user_id", "day").order_by())
    if win.live:
        qs = sources.ledger_verified(first=win.live[0], last=win.live[1], tz=win.tz, challenge_id=challenge_id)
        parts.append(qs.filter(sources.positive(), user__isnull=False).values_list("user_id", "day").order_by())
    if not parts:
        return None
    query = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    sql, params = query.query.sql_with_params()
    return sql, list(params)


def _rate(part, whole) -> float:
    return round(float(part) / float(whole), 4) if whole else 0.0


def _decimal(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def _trend_series(periods: dict) -> list[dict]:
    """One row per period, oldest first, as the savings-trends answer carries them."""
    return [
        {
            "period": p.isoformat(),
            "deposits_count": b["deposits_count"],
            "amount": _decimal(b["amount"]),
            "savers": b["savers"],
            "average_deposit": _decimal(b["amount"] / b["deposits_count"] if b["deposits_count"] else 0),
        }
        for p, b in sorted(periods.items())
    ]


# --- the reports ------------------------------------------------------------------------------
def _live_first(watermark: date | None) -> date:
    return EPOCH if watermark is None else watermark + timedelta(days=1)


def _summary_scope(challenge_id: int | None):
    return SaverSummary.objects.filter(challenge_id=challenge_id)  # None: the all-deposits rows


def challenge_outcomes(*, challenge_id: int | None) -> dict:
    """Participations by outcome (participants, active, completed, failed): the game's statuses, the
    same live or rolled up (a participation's status is not a day's figure)."""
    return sources.participation(challenge_id=challenge_id)[1]


def _rolled_overview(*, challenge_id: int | None, today: date, watermark: date) -> dict:
    """The rolled-up part of the overview (days up to the watermark). It only changes when the
    rollup runs, so it is cached under the rollup version."""
    totals = DailyRollup.objects.filter(day__lte=watermark, challenge_id=challenge_id).aggregate(
        n=Sum("deposits_count"), amount=Sum("deposits_amount")
    )
    scope = _summary_scope(challenge_id)
    active = {
        days: (
            scope.filter(last_day__gte=today - timedelta(days=days - 1)).count()
            if watermark >= today - timedelta(days=days - 1)
            else 0
        )
        for days in (7, 30)
    }
    return {"deposits_count": totals["n"] or 0, "deposits_amount": totals["amount"] or ZERO, "active": active}


def analytics_overview(*, challenge_id: int | None = None) -> dict:
    """Overview KPIs: the cached rolled-up part plus today's live delta, computed in Python from
    one read of the live ledger rows (normally today's only)."""
    tz = sources.org_timezone()
    return _overview(challenge_id=challenge_id, tz=tz, today=sources.local_today(tz)).figures


@dataclass
class _Overview:
    """The overview's figures and what the leader's overview page reuses from computing them."""

    figures: dict
    outcomes: dict
    watermark: date | None
    version: object  # the rollup version (latest computed_at), None before the first rollup
    rows: list  # the live ledger rows (day, user_id, challenge_id, amount), days after the watermark


def _overview(*, challenge_id: int | None, tz: ZoneInfo, today: date) -> _Overview:
    from django.core.cache import cache

    state = DailyRollup.objects.filter(challenge__isnull=True).aggregate(last=Max("day"), version=Max("computed_at"))
    watermark = state["last"]
    members = sources.member_count()

    rolled = {"deposits_count": 0, "deposits_amount": ZERO, "active": {7: 0, 30: 0}}
    if watermark is not None:
        key = f"analytics:overview:{state['version'].timestamp()}:{today}:{challenge_id}"
        try:
            cached = cache.get(key)
        except Exception:  # Redis down: compute without the cache
            cached = None
        if cached is None:
            cached = _rolled_overview(challenge_id=challenge_id, today=today, watermark=watermark)
            try:
                cache.set(key, cached, 6 * 3600)
            except Exception:
                pass
        rolled = cached

    # --- the live delta: ledger rows after the watermark --------------------------------------
    live_first = _live_first(watermark)
    rows = []
    if live_first <= today:
        rows = list(
            sources.ledger_verified(first=live_first, last=today, tz=tz).values_list(
                "day", "user_id", "challenge_id", "amount"
            )
        )
    scoped = [r for r in rows if challenge_id is None or r[2] == challenge_id]
    users = {r[1] for r in scoped if r[1] and r[3] > 0}
    last_day: dict[int, date | None] = {}
    if users and watermark is not None:
        # Only the summary rows the delta can touch: each live saver's row of this scope, read
        # through the (user, challenge) unique index.
        table = SaverSummary._meta.db_table
        scope = "s.challenge_id IS NULL" if challenge_id is None else "s.challenge_id = %s"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.user_id, s.last_day FROM {table} s "
                f"JOIN unnest(%s::bigint[]) AS u(id) ON s.user_id = u.id AND {scope}",
                [list(users)] + ([] if challenge_id is None else [challenge_id]),
            )
            last_day = dict(cursor.fetchall())

    count = rolled["deposits_count"] + sum(1 for r in scoped if r[3] > 0)
    amount = rolled["deposits_amount"] + sum((r[3] for r in scoped), ZERO)
    active = {}
    for days in (7, 30):
        start = today - timedelta(days=days - 1)
        fresh = {r[1] for r in scoped if r[1] and r[3] > 0 and r[0] >= start}
        fresh = {u for u in fresh if not ((seen := last_day.get(u)) and seen >= start)}
        active[days] = rolled["active"][days] + len(fresh)

    participating, outcomes = sources.participation(challenge_id=challenge_id)
    figures = {
        "total_saved": _decimal(amount),
        "deposits_count": count,
        "average_deposit": _decimal(amount / count if count else 0),
        "members": members,
        "active_savers_7d": active[7],
        "active_savers_30d": active[30],
        "participation_rate": _rate(min(participating, members), members),
        "challenge_participants": outcomes["participants"],
        "completion_rate": _rate(outcomes["completed"], outcomes["participants"]),
        "failure_rate": _rate(outcomes["failed"], outcomes["participants"]),
        "as_of": today.isoformat(),
        "rolled_up_through": watermark.isoformat() if watermark else None,
    }
    return _Overview(figures=figures, outcomes=outcomes, watermark=watermark, version=state["version"], rows=rows)


def manage_overview(*, weeks: int = 12) -> dict:
    """The leader's overview page: the KPIs, saved per week over the last `weeks` weeks and the
    challenge outcomes, in a handful of queries. The rolled-up days are cached under the rollup
    version (as the KPIs are); the live days reuse the KPIs' one read of the live ledger rows."""
    tz = sources.org_timezone()
    today = sources.local_today(tz)
    parts = _overview(challenge_id=None, tz=tz, today=today)
    first = sources.week_start(today) - timedelta(weeks=weeks - 1)
    outcomes = parts.outcomes
    return {
        "overview": parts.figures,
        "trends": _weekly_trends(first=first, today=today, parts=parts),
        "completion": {
            **outcomes,
            "completion_rate": _rate(outcomes["completed"], outcomes["participants"]),
            "failure_rate": _rate(outcomes["failed"], outcomes["participants"]),
        },
    }


def _weekly_trends(*, first: date, today: date, parts: _Overview) -> dict:
    """analytics_savings_trends(first, today, "week") without its whole-window `savers`: the weeks
    up to the watermark from the cache, the live rows added in Python, and one query per week that
    spans the watermark (normally this one) for its distinct savers."""
    from django.core.cache import cache

    watermark = parts.watermark
    if watermark is None or watermark < first - timedelta(days=1):  # no rollup of this window yet
        full = analytics_savings_trends(first=first, last=today, granularity="week")
        full.pop("savers")
        return full
    rolled = None
    key = f"analytics:weekly:{parts.version.timestamp()}:{first}:{watermark}"
    try:
        rolled = cache.get(key)
    except Exception:  # Redis down: compute without the cache
        pass
    if rolled is None:
        rolled = analytics_savings_trends(first=first, last=watermark, granularity="week")["series"] if watermark >= first else []
        try:
            cache.set(key, rolled, 6 * 3600)
        except Exception:
            pass
    periods = {
        date.fromisoformat(p["period"]): {
            "deposits_count": p["deposits_count"], "amount": Decimal(p["amount"]), "savers": p["savers"], "live": set()
        }
        for p in rolled
    }
    week = sources.week_start(max(first, watermark + timedelta(days=1)))
    while week <= today:
        periods.setdefault(week, {"deposits_count": 0, "amount": ZERO, "savers": 0, "live": set()})
        week += timedelta(days=7)
    for day, user_id, _challenge_id, amount in parts.rows:
        bucket = periods.get(sources.week_start(day))
        if bucket is None:
            continue
        bucket["amount"] += amount
        if amount > 0:
            bucket["deposits_count"] += 1
            if user_id:
                bucket["live"].add(user_id)
    for start, bucket in periods.items():
        if not bucket["live"]:
            continue
        if start > watermark:
            bucket["savers"] = len(bucket["live"])
            continue
        with connection.cursor() as cursor:  # savers on this week's rolled days or live ones, once each
            cursor.execute(
                f"SELECT count(*) FROM (SELECT user_id FROM {SaverDay._meta.db_table} WHERE day BETWEEN %s AND %s "
                "AND deposits_count > 0 UNION SELECT unnest(%s::bigint[])) s",
                [start, watermark, list(bucket["live"])],
            )
            bucket["savers"] = cursor.fetchone()[0]
    series = _trend_series(periods)
    total = sum((b["amount"] for b in periods.values()), ZERO)
    return {
        "from": first.isoformat(),
        "to": today.isoformat(),
        "challenge": None,
        "granularity": "week",
        "total_saved": _decimal(total),
        "deposits_count": sum(b["deposits_count"] for b in periods.values()),
        "series": series,
    }


def _period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return sources.week_start(day)
    if granularity == "month":
        return day.replace(day=1)
    return day


def analytics_savings_trends(
    *, first: date | None, last: date | None, challenge_id: int | None = None, granularity: str = "day"
) -> dict:
    """Saved per day/week/month (weeks are ISO weeks in the org's time zone)."""
    tz = sources.org_timezone()
    today = sources.local_today(tz)
    last = min(last or today, today)
    first = first or last - timedelta(days=89)
    win = window(first=first, last=last, tz=tz)
    periods: dict[date, dict] = {}
    for row in daily_series(win=win, challenge_id=challenge_id):
        start = _period_start(row["day"], granularity)
        bucket = periods.setdefault(start, {"period": start, "deposits_count": 0, "amount": ZERO, "savers": 0})
        bucket["deposits_count"] += row["deposits_count"]
        bucket["amount"] += row["deposits_amount"]
    # Distinct savers per period cannot be summed from days: count them from the saver-days.
    query = _saver_days_sql(win=win, challenge_id=challenge_id)
    if query and periods:
        sql, params = query
        trunc = {"day": "day", "week": "week", "month": "month"}[granularity]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT date_trunc('{trunc}', s.day)::date AS p, count(DISTINCT s.user_id) FROM ({sql}) s GROUP BY 1",
                params,
            )
            for period, savers in cursor.fetchall():
                if period in periods:
                    periods[period]["savers"] = savers
    series = _trend_series(periods)
    total_amount = sum((b["amount"] for b in periods.values()), ZERO)
    total_count = sum(b["deposits_count"] for b in periods.values())
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "challenge": challenge_id,
        "granularity": granularity,
        "total_saved": _decimal(total_amount),
        "deposits_count": total_count,
        "savers": _count(saver_user_ids(win=win, challenge_id=challenge_id)),
        "series": series,
    }


def streak_distribution(*, win: Window, challenge_id: int | None = None) -> list[dict]:
    """Members by current weekly streak at the window's last day: consecutive ISO weeks with a
    deposit, ending in that week (or the week before, when this week has none yet)."""
    member_count = sources.members().count()
    streaks: dict[int, int] = {}
    query = _saver_days_sql(win=win, challenge_id=challenge_id)
    if query:
        sql, params = query
        this_week = sources.week_start(win.last)
        # Gaps and islands: consecutive weeks share (week - rank * 7 days).
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH weeks AS (SELECT DISTINCT user_id, date_trunc('week', day)::date AS wk FROM ({sql}) s),
                islands AS (
                    SELECT user_id, wk, wk - (7 * row_number() OVER (PARTITION BY user_id ORDER BY wk))::int AS grp
                    FROM weeks
                )
                SELECT user_id, count(*) FROM islands
                GROUP BY user_id, grp HAVING max(wk) >= %s::date - 7
                """,
                [*params, this_week],
            )
            for user_id, length in cursor.fetchall():
                streaks[user_id] = max(streaks.get(user_id, 0), length)
    counts = defaultdict(int)
    for length in streaks.values():
        counts[length] += 1
    counts[0] = max(member_count - len(streaks), 0)
    out = []
    for low, high in STREAK_BUCKETS:
        n = sum(v for k, v in counts.items() if k >= low and (high is None or k <= high))
        label = str(low) if low == high else (f"{low}+" if high is None else f"{low}-{high}")
        out.append({"weeks": label, "members": n})
    return out


def retention_cohorts(*, win: Window, challenge_id: int | None = None) -> list[dict]:
    """Members by the ISO week they joined (within the window); for each week N after joining,
    the share of the cohort with a verified deposit in that week (week 0 = the joining week)."""
    start = sources.day_start(win.first, win.tz)
    end = sources.day_start(win.last + timedelta(days=1), win.tz)
    cohort_sizes: dict[date, int] = defaultdict(int)
    member_cohort: dict[int, date] = {}
    for user_id, joined in (
        sources.members().filter(date_joined__gte=start, date_joined__lt=end).values_list("id", "date_joined")
    ):
        cohort = sources.week_start(joined.astimezone(win.tz).date())
        member_cohort[user_id] = cohort
        cohort_sizes[cohort] += 1
    if not cohort_sizes:
        return []
    active: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    query = _saver_days_sql(win=win, challenge_id=challenge_id)
    if query:
        sql, params = query
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT s.user_id, date_trunc('week', s.day)::date FROM ({sql}) s "
                f"JOIN unnest(%s::bigint[]) AS m(id) ON m.id = s.user_id",
                [*params, list(member_cohort)],
            )
            for user_id, wk in cursor.fetchall():
                cohort = member_cohort[user_id]
                n = (wk - cohort).days // 7
                if 0 <= n <= MAX_COHORT_WEEKS:
                    active[cohort][n] += 1
    last_week = sources.week_start(win.last)
    out = []
    for cohort in sorted(cohort_sizes):
        size = cohort_sizes[cohort]
        weeks_seen = min((last_week - cohort).days // 7, MAX_COHORT_WEEKS)
        out.append(
            {
                "cohort": cohort.isoformat(),
                "members": size,
                "retention": [
                    {"week": n, "savers": active[cohort].get(n, 0), "rate": _rate(active[cohort].get(n, 0), size)}
                    for n in range(weeks_seen + 1)
                ],
            }
        )
    return out


def challenge_completion(*, challenge_id: int | None = None) -> dict:
    """Participants by outcome with completion and failure rates (shares of all participants)."""
    outcomes = challenge_outcomes(challenge_id=challenge_id)
    return {
        **outcomes,
        "completion_rate": _rate(outcomes["completed"], outcomes["participants"]),
        "failure_rate": _rate(outcomes["failed"], outcomes["participants"]),
    }


def analytics_engagement(*, first: date | None, last: date | None, challenge_id: int | None = None) -> dict:
    tz = sources.org_timezone()
    today = sources.local_today(tz)
    last = min(last or today, today)
    first = first or last - timedelta(days=89)
    win = window(first=first, last=last, tz=tz)
    opened = converted = logins = joins = 0
    org_days = daily_series(win=win, challenge_id=None)
    for row in org_days:
        opened += row["notifications_opened"]
        converted += row["notification_conversions"]
        logins += row["logins"]
    for row in org_days if challenge_id is None else daily_series(win=win, challenge_id=challenge_id):
        joins += row["challenge_joins"]
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "challenge": challenge_id,
        "completion": challenge_completion(challenge_id=challenge_id),
        "streaks": streak_distribution(win=win, challenge_id=challenge_id),
        "retention_cohorts": retention_cohorts(win=win, challenge_id=challenge_id),
        "notifications": {"opened": opened, "converted": converted, "conversion_rate": _rate(converted, opened)},
        "logins": logins,
        "challenge_joins": joins,
    }


def member_statement(*, user, year: int, month: int) -> dict:
    """One member's verified deposits in a calendar month (org time zone) with opening and
    closing balances of their savings."""
    from calendar import monthrange

    tz = sources.org_timezone()
    first = date(year, month, 1)
    last = date(year, month, monthrange(year, month)[1])
    rows = list(sources.ledger_for_member(user_id=user.pk, first=first, last=last, tz=tz))
    before = (
        sources.ledger_verified(first=date(2000, 1, 1), last=first - timedelta(days=1), tz=tz)
        .filter(user_id=user.pk)
        .aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    saved = sum((r.amount for r in rows), ZERO)
    return {
        "member": user,
        "first": first,
        "last": last,
        "opening_balance": before,
        "saved": saved,
        "closing_balance": before + saved,
        "rows": [
            {
                "at": r.at.astimezone(tz),
                "amount": r.amount,
                "receipt": r.mpesa_receipt or r.transaction_id or "",
                "challenge": r.challenge.name if r.challenge_id else "",
            }
            for r in rows
        ],
        "deposits_count": sum(1 for r in rows if r.amount > 0),
    }


def group_statement(*, year: int, month: int) -> dict:
    """The printable group statement for a meeting: every active member (leaders too) with their
    deposits in a calendar month (org time zone), the month's total and their savings at its close.
    Three queries whatever the group's size: the members, the month's ledger rows, the balances before it."""
    from calendar import monthrange

    tz = sources.org_timezone()
    first = date(year, month, 1)
    last = date(year, month, monthrange(year, month)[1])
    people = list(sources.people())
    by_member: dict[int, list] = {p.pk: [] for p in people}
    month_rows = sources.ledger_verified(first=first, last=last, tz=tz).filter(user_id__in=list(by_member))
    for r in month_rows.order_by("at", "id"):
        by_member[r.user_id].append({"at": r.at.astimezone(tz), "amount": r.amount})
    opening = dict(
        sources.ledger_verified(first=EPOCH, last=first - timedelta(days=1), tz=tz)
        .filter(user_id__in=list(by_member)).values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total")
    )
    rows = []
    for p in people:
        deposits = by_member[p.pk]
        saved = sum((d["amount"] for d in deposits), ZERO)
        rows.append({"member": p, "deposits": deposits, "saved": saved,
                     "closing_balance": (opening.get(p.pk) or ZERO) + saved})
    return {"first": first, "last": last, "rows": rows,
            "saved": sum((r["saved"] for r in rows), ZERO),
            "closing_balance": sum((r["closing_balance"] for r in rows), ZERO),
            "savers": sum(1 for r in rows if r["saved"] > 0)}


SETUP_STEPS = ("branding", "mpesa", "challenge", "members", "test_payment")


def setup_checklist(*, organization, members: int | None = None) -> dict:
    """The first admin's checklist on /manage/: each step ticked from the real state (sources.setup_state),
    and whether all are done (then the site root stops sending her to /manage/). `members`: the
    overview's member count, when the caller has it."""
    state = sources.setup_state(organization=organization, members=members)
    steps = [{"key": key, "done": state[key]} for key in SETUP_STEPS]
    return {"steps": steps, "done": sum(s["done"] for s in steps), "total": len(steps),
            "complete": all(s["done"] for s in steps)}
