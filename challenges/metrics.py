"""Member metrics for the badge rule engine, loaded for many members at once.

A badge rule names metrics (challenges/badges.py METRICS). Metrics come in groups that one grouped
query answers for every member of a batch; a group is loaded only when some rule asks for one of its
metrics, so evaluating badges for a batch of deposits costs a handful of queries, not a handful per member.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Min, Q, Sum

from challenges import scoring

GROUPS = {
    "total_saved": "deposits", "deposits_count": "deposits", "largest_deposit": "deposits",
    "best_streak_weeks": "deposits", "best_streak_days": "deposits",
    "challenges_joined": "challenges", "challenges_completed": "challenges", "teams_joined": "challenges",
    "best_final_rank": "challenges", "team_goals_reached": "challenges",
    "points": "points", "early_bird_count": "points",
    "referrals": "referrals",
}
DEFAULTS = {
    "deposits": {"total_saved": Decimal("0"), "deposits_count": 0, "largest_deposit": Decimal("0"),
                 "best_streak_days": 0, "best_streak_weeks": 0},
    "challenges": {"challenges_joined": 0, "challenges_completed": 0, "teams_joined": 0, "best_final_rank": None,
                   "team_goals_reached": 0},
    "points": {"points": 0, "early_bird_count": 0},
    "referrals": {"referrals": 0},
}


def best_run(days: Iterable[date], unit: str) -> int:
    """The longest run of consecutive windows (days or ISO weeks) holding at least one of `days`."""
    windows = sorted({scoring.window_start(d, unit) for d in days})
    best = run = 0
    previous = None
    for w in windows:
        run = run + 1 if previous is not None and scoring.window_next(previous, unit) == w else 1
        best, previous = max(best, run), w
    return best


# Runs of consecutive local days with a deposit, [[first, last], ...] in ISO dates, oldest first: the
# member metrics row keeps them (challenges.MemberMetrics.day_runs), so a late deposit that fills a
# gap joins two runs and both best streaks stay exact without reading the member's deposits again.
def runs_from_days(days: Iterable[date]) -> list[list[str]]:
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [[a.isoformat(), b.isoformat()] for a, b in runs]


def runs_add(runs: list[list[str]], day: date) -> list[list[str]]:
    """`runs` with `day` added (merged into its neighbours)."""
    spans = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in runs]
    days = {day}
    for a, b in spans:
        if a - timedelta(days=1) <= day <= b + timedelta(days=1):
            days |= {a, b}
    merged = [(a, b) for a, b in spans if not (a - timedelta(days=1) <= day <= b + timedelta(days=1))]
    merged.append((min(days), max(days)))
    return [[a.isoformat(), b.isoformat()] for a, b in sorted(merged)]


def runs_best(runs: list[list[str]], unit: str) -> int:
    """The best streak of days (unit "day") or ISO weeks ("week") the runs hold: `best_run` of their days."""
    spans = sorted((scoring.window_start(date.fromisoformat(a), unit), scoring.window_start(date.fromisoformat(b), unit))
                   for a, b in runs)
    best, current = 0, None
    for a, b in spans:
        if current is not None and a <= scoring.window_next(current[1], unit):
            current = (current[0], max(current[1], b))
        else:
            current = (a, b)
        step = 1 if unit == scoring.DAY else 7
        best = max(best, (current[1] - current[0]).days // step + 1)
    return best


def runs_current(runs: list[list[str]], unit: str, today: date) -> int:
    """The streak of windows (days or ISO weeks) the runs hold that is still alive: ending in today's
    window, or the one before it (today's is not over yet)."""
    now = scoring.window_start(today, unit)
    alive = {now, scoring.window_start(now - timedelta(days=1), unit)}
    step = 1 if unit == scoring.DAY else 7
    spans = sorted((scoring.window_start(date.fromisoformat(a), unit), scoring.window_start(date.fromisoformat(b), unit))
                   for a, b in runs)
    merged: list[list[date]] = []
    for a, b in spans:
        if merged and a <= scoring.window_next(merged[-1][1], unit):
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return next(((b - a).days // step + 1 for a, b in merged if b in alive), 0)


class MetricsLoader:
    """Lazily loaded metrics for a set of members (current tenant schema)."""

    def __init__(self, user_ids: Iterable[int], zone: ZoneInfo, rows: dict | None = None):
        self.user_ids = sorted(set(user_ids))
        self.zone = zone
        self.rows = rows  # member metrics rows already at hand ({user id: MemberMetrics}), else read
        self.values: dict[int, dict] = {uid: {} for uid in self.user_ids}
        self.loaded: set[str] = set()

    def metric(self, user_id: int, participant=None) -> Callable[[str], object]:
        """A `metric(name)` callable for criteria_evaluate; challenge_* metrics come from `participant`."""
        def value(name: str):
            if name.startswith("challenge_"):
                if participant is None:
                    return None
                return {"challenge_saved": participant.total_contributed,
                        "challenge_rank": participant.final_rank or participant.rank,
                        # None until settlement freezes the ranks: "finished in the top 3" waits for the finish.
                        "challenge_final_rank": participant.final_rank,
                        "challenge_completed": 1 if participant.status == "completed" else 0}.get(name)
            group = GROUPS.get(name)
            if group is None:
                return None
            if group not in self.loaded:
                self._load(group)
            return self.values[user_id].get(name)

        return value

    def _load(self, group: str) -> None:
        for values in self.values.values():
            values.update(DEFAULTS[group])
        getattr(self, f"_load_{group}")()
        self.loaded.add(group)

    def _load_deposits(self) -> None:
        # The member metrics rows (challenges/services/member_metrics.py): one row per member, whatever
        # the ledger's size. A scoring batch hands in the rows it has just written.
        from challenges.services.member_metrics import member_metrics_rows

        rows = self.rows if self.rows is not None else member_metrics_rows(user_ids=self.user_ids, zone=self.zone)
        for user_id, row in rows.items():
            if user_id in self.values:
                self.values[user_id].update(
                    total_saved=row.total_saved, deposits_count=row.deposits_count,
                    largest_deposit=row.largest_deposit, best_streak_days=row.best_streak_days,
                    best_streak_weeks=row.best_streak_weeks)

    def _load_challenges(self) -> None:
        from challenges.models import Participant

        from challenges.services import rules_for

        participations = Participant.objects.filter(user_id__in=self.user_ids)
        if not rules_for().goals_count:  # issue 18: the org says personal goals earn no badges
            participations = participations.exclude(challenge__type="goal")
        for row in (participations.values("user_id")
                    .annotate(joined=Count("pk"), completed=Count("pk", filter=Q(status="completed")),
                              teams=Count("pk", filter=Q(team__isnull=False)), best=Min("final_rank"),
                              goals=Count("pk", filter=Q(team__goal_reached_at__isnull=False))).order_by()):
            self.values[row["user_id"]].update(
                challenges_joined=row["joined"], challenges_completed=row["completed"], teams_joined=row["teams"],
                best_final_rank=row["best"], team_goals_reached=row["goals"])

    def _load_points(self) -> None:
        from challenges.models import PointAward

        for row in (PointAward.objects.filter(user_id__in=self.user_ids).values("user_id")
                    .annotate(points=Sum("points"), early=Count("pk", filter=Q(reason="early_bird"))).order_by()):
            self.values[row["user_id"]].update(points=row["points"] or 0, early_bird_count=row["early"])

    def _load_referrals(self) -> None:
        from accounts.models import User

        for row in (User.objects.filter(referred_by_id__in=self.user_ids, transactions__status="verified")
                    .values("referred_by_id").annotate(n=Count("pk", distinct=True)).order_by()):
            self.values[row["referred_by_id"]]["referrals"] = row["n"]
