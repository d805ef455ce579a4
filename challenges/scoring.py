"""The scoring engine: pure functions over a participation's deposits (no database, no Redis).

Everything a score depends on is computed from the *set* of deposits counted toward a
participation (local date + amount), never from the order they arrived in, so a recompute from
scratch gives the same totals as the incremental path (challenges/services/scoring_batch.py).
Adding a deposit can only lengthen streaks, meet periods or raise ratios, with one exception: in a
forgiving streak (challenges/streaks.py) a late deposit can change which missed windows the freezes
and the one earn-back keep (a freeze earned sooner is spent sooner; an earlier window earned back
uses the earn-back up), so a later window kept before breaks; the incremental path then takes the
difference back (`streak_fix` awards). Rules: DESIGN.md "Gamification rules" and docs/GAMIFICATION.md.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

DAY, WEEK, MONTH = "day", "week", "month"
FREQUENCY_UNITS = {"daily": DAY, "weekly": WEEK, "monthly": MONTH}
ZERO = Decimal("0")
CENT = Decimal("0.01")


# --- windows (periods) ---------------------------------------------------------------------------
def window_start(day: date, unit: str) -> date:
    if unit == DAY:
        return day
    if unit == WEEK:  # ISO week: Monday to Sunday
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def window_next(start: date, unit: str) -> date:
    if unit == DAY:
        return start + timedelta(days=1)
    if unit == WEEK:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def window_end(start: date, unit: str) -> date:
    return window_next(start, unit) - timedelta(days=1)


def windows_between(first: date, last: date, unit: str) -> list[date]:
    """Start dates of every window (day / ISO week / calendar month) touching [first, last]."""
    out, current = [], window_start(first, unit)
    while current <= last:
        out.append(current)
        current = window_next(current, unit)
    return out


def window_label(start: date, unit: str) -> str:
    if unit == DAY:
        return start.isoformat()
    if unit == WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")


def previous_month(day: date) -> tuple[date, date]:
    """The calendar month before `day`: (first day, last day)."""
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


# --- rules ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    points_per_kes: Decimal = Decimal("1")
    streak_multiplier: Decimal = Decimal("1.5")
    streak_threshold_days: int = 7
    streak_threshold_weeks: int = 1
    early_bird_bonus: int = 50
    early_bird_days: int = 3
    consistency_bonus: int = 100
    referral_bonus: int = 500
    # Issue 18: whether personal goals earn points and badges, and N for streak freezes (0 = off).
    goals_count: bool = True
    freeze_every: int = 4

    @classmethod
    def from_lookup(cls, lookup: Callable[[str], object]) -> "Rules":
        def dec(key):
            return max(Decimal(str(lookup(key))), ZERO)

        def num(key):
            return max(int(lookup(key)), 0)

        return cls(
            points_per_kes=dec("points_per_kes"), streak_multiplier=max(dec("streak_multiplier"), Decimal("1")),
            streak_threshold_days=num("streak_threshold_days"), streak_threshold_weeks=num("streak_threshold_weeks"),
            early_bird_bonus=num("early_bird_bonus"), early_bird_days=num("early_bird_days"),
            consistency_bonus=num("consistency_bonus"), referral_bonus=num("referral_bonus"),
            goals_count=bool(lookup("goals_count")), freeze_every=num("freeze_every"),
        )

    def threshold(self, unit: str) -> int:
        return self.streak_threshold_days if unit == DAY else self.streak_threshold_weeks


NO_POINTS = Rules(points_per_kes=ZERO, streak_multiplier=Decimal("1"), early_bird_bonus=0, consistency_bonus=0,
                  referral_bonus=0)


def rules_for_spec(spec: "ChallengeSpec", rules: Rules) -> Rules:
    """The rules a participation is scored by: a personal goal earns nothing when the org says goals
    do not count for points (Rules.goals_count)."""
    if spec.type == "goal" and not rules.goals_count:
        return NO_POINTS
    return rules


@dataclass(frozen=True)
class ChallengeSpec:
    """What the engine needs to know about a challenge."""

    type: str
    target: dict
    start_date: date
    end_date: date
    freeze_every: int = 0  # streak freezes (challenges/streaks.py): N qualifying windows earn one; 0 = off

    @property
    def streak_unit(self) -> str:
        if self.type == "streak":
            return WEEK if "consecutive_weeks" in self.target else DAY
        if self.type == "goal":
            return {"daily": DAY, "monthly": MONTH}.get(self.target.get("frequency"), WEEK)
        if self.type == "fixed_amount" and self.target.get("frequency") == "daily":
            return DAY
        return WEEK

    def window_qualifies(self, amounts: list[Decimal]) -> bool:
        """Does a streak window (day or ISO week) with these deposits keep the streak going?"""
        if not amounts:
            return False
        if self.type == "streak":
            return max(amounts) >= Decimal(str(self.target.get("min_amount") or "0.01"))
        if self.type == "goal":  # the member's plan per window, if they gave a date
            return sum(amounts, ZERO) >= Decimal(str(self.target.get("min_amount") or "0.01"))
        if self.type == "fixed_amount" and self.target.get("frequency") in ("daily", "weekly"):
            return sum(amounts, ZERO) >= Decimal(str(self.target["amount"]))
        return True

    def in_window(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


Deposit = tuple[date, Decimal]  # (local date, amount)


def _by_window(deposits: Iterable[Deposit], unit: str) -> dict[date, list[Decimal]]:
    grouped: dict[date, list[Decimal]] = {}
    for day, amount in deposits:
        grouped.setdefault(window_start(day, unit), []).append(Decimal(amount))
    return grouped


def qualifying_windows(spec: ChallengeSpec, deposits: Iterable[Deposit]) -> set[date]:
    unit = spec.streak_unit
    return {w for w, amounts in _by_window(deposits, unit).items() if spec.window_qualifies(amounts)}


def streak_carried_into(spec: ChallengeSpec, qualifying: set[date], day: date,
                        bridged: frozenset[date] | set[date] = frozenset()) -> int:
    """Qualifying windows in the run just before the window of `day` (within the challenge). A
    `bridged` window (kept by a streak freeze or earned back, challenges/streaks.py) keeps the run
    and adds nothing to it, as in the current streak the member sees."""
    unit = spec.streak_unit
    first = window_start(spec.start_date, unit)
    count, current = 0, window_start(day, unit)
    while True:
        current = window_start(current - timedelta(days=1), unit)
        if current < first or (current not in qualifying and current not in bridged):
            return count
        count += current in qualifying


def floor_points(amount: Decimal, points_per_kes: Decimal, multiplier: Decimal) -> int:
    value = (Decimal(amount) * points_per_kes * multiplier).to_integral_value(rounding=ROUND_FLOOR)
    return max(int(value), 0)


def run_step(run: int, window: date, qualifying: set[date], bridged: frozenset[date] | set[date]) -> int:
    """The streak after `window`: +1 when it qualifies, kept when it is bridged, else reset."""
    return run + 1 if window in qualifying else (run if window in bridged else 0)


def streaks_carried(spec: ChallengeSpec, qualifying: set[date], days: Iterable[date],
                    bridged: frozenset[date] | set[date] = frozenset()) -> dict[date, int]:
    """`streak_carried_into` for the windows of many days in one pass over the challenge's windows:
    {window start: qualifying windows in the run just before it}."""
    unit = spec.streak_unit
    wanted = {window_start(day, unit) for day in days}
    if not wanted:
        return {}
    runs, run = {}, 0
    current, last = window_start(spec.start_date, unit), max(wanted)
    while current <= last:
        runs[current] = run
        run = run_step(run, current, qualifying, bridged)
        current = window_next(current, unit)
    return {w: runs.get(w, 0) for w in wanted}


def deposit_points(spec: ChallengeSpec, rules: Rules, deposits: list[Deposit]) -> list[tuple[int, Decimal]]:
    """For each deposit (same order): (points it deserves, multiplier), given all deposits known. The
    streak going into a deposit's window counts frozen and earned-back windows as the member's
    current streak does (they keep it, add nothing)."""
    threshold = rules.threshold(spec.streak_unit)
    carried = {}
    if threshold:
        from challenges import streaks

        carried = streaks_carried(spec, qualifying_windows(spec, deposits), (day for day, _ in deposits),
                                  streaks.bridged_windows(spec, deposits))
    unit, one = spec.streak_unit, Decimal("1")
    out = []
    for day, amount in deposits:
        multiplier = rules.streak_multiplier if threshold and carried[window_start(day, unit)] >= threshold else one
        out.append((floor_points(amount, rules.points_per_kes, multiplier), multiplier))
    return out


def early_bird_earned(spec: ChallengeSpec, rules: Rules, deposits: list[Deposit]) -> bool:
    if not rules.early_bird_bonus or not rules.early_bird_days:
        return False
    cutoff = spec.start_date + timedelta(days=rules.early_bird_days)
    return any(spec.start_date <= day < cutoff for day, _ in deposits)


# --- progress per type ---------------------------------------------------------------------------
@dataclass
class Outcome:
    progress: dict
    completed: bool
    failed: bool  # given `today`: completion has become impossible
    extra: dict = field(default_factory=dict)


def _ratio(saved: Decimal, goal: Decimal) -> str:
    if goal <= 0:
        return "1.0000" if saved > 0 else "0.0000"
    return str((saved / goal).quantize(Decimal("0.0001"), rounding=ROUND_FLOOR))


def progress_fixed_amount(spec: ChallengeSpec, deposits: list[Deposit], today: date) -> Outcome:
    unit = FREQUENCY_UNITS[spec.target["frequency"]]
    amount = Decimal(str(spec.target["amount"]))
    sums = {w: sum(a, ZERO) for w, a in _by_window(deposits, unit).items()}
    periods, met, missed_past = [], 0, False
    for w in windows_between(spec.start_date, spec.end_date, unit):
        start, end = max(w, spec.start_date), min(window_end(w, unit), spec.end_date)
        saved = sums.get(w, ZERO)
        is_met = saved >= amount
        met += is_met
        if not is_met and end < today:
            missed_past = True
        periods.append({"label": window_label(w, unit), "start": start.isoformat(), "end": end.isoformat(),
                        "saved": str(saved), "met": is_met})
    total = len(periods)
    completed = met == total
    return Outcome(
        progress={"type": "fixed_amount", "periods_met": met, "periods_total": total,
                  "ratio": _ratio(Decimal(met), Decimal(total)), "periods": periods},
        completed=completed, failed=not completed and (missed_past or today > spec.end_date),
    )


def percentage_goal(spec: ChallengeSpec, baseline: Decimal) -> Decimal:
    if baseline > 0:
        increase = Decimal(str(spec.target["increase"]))
        return (baseline * (1 + increase / 100)).quantize(CENT)
    return Decimal(str(spec.target.get("min_amount") or "0"))


def progress_percentage(spec: ChallengeSpec, deposits: list[Deposit], today: date, baseline: Decimal) -> Outcome:
    saved = sum((a for _, a in deposits), ZERO)
    goal = percentage_goal(spec, baseline)
    ratio = _ratio(saved, goal)
    completed = Decimal(ratio) >= 1
    return Outcome(
        progress={"type": "percentage", "baseline": str(baseline), "goal": str(goal), "saved": str(saved),
                  "ratio": ratio},
        completed=completed, failed=not completed and today > spec.end_date,
    )


def current_run(spec: ChallengeSpec, qualifying: set[date], bridged: frozenset[date] | set[date], today: date) -> int:
    """The current streak: qualifying windows in the run that reaches today's window (alive while
    today's window is still open; bridged windows keep it and add nothing)."""
    unit = spec.streak_unit
    windows = windows_between(spec.start_date, spec.end_date, unit)
    if not windows:
        return 0
    w = window_start(min(max(today, spec.start_date), spec.end_date), unit)
    if w not in qualifying:
        w = window_start(w - timedelta(days=1), unit)
    count = 0
    while w >= windows[0] and (w in qualifying or w in bridged):
        count += w in qualifying
        w = window_start(w - timedelta(days=1), unit)
    return count


def best_run(spec: ChallengeSpec, qualifying: set[date], bridged: frozenset[date] | set[date]) -> int:
    best = run = 0
    for w in windows_between(spec.start_date, spec.end_date, spec.streak_unit):
        run = run_step(run, w, qualifying, bridged)
        best = max(best, run)
    return best


def progress_streak(spec: ChallengeSpec, deposits: list[Deposit], today: date,
                    bridged: frozenset[date] | set[date] = frozenset(), repairable: date | None = None) -> Outcome:
    """N windows in a row. A window kept by a streak freeze or earned back (`bridged`, as of today:
    challenges/streaks.py) keeps the run and adds nothing, exactly as in the current streak the member
    sees; `repairable` is a missed window that can still be earned back (it may yet keep the run)."""
    unit = spec.streak_unit
    needed = int(spec.target.get("consecutive_weeks") or spec.target.get("consecutive_days"))
    qualifying = qualifying_windows(spec, deposits)
    windows = windows_between(spec.start_date, spec.end_date, unit)
    best = best_run(spec, qualifying, bridged)
    current = current_run(spec, qualifying, bridged, today)
    now_window = window_start(min(max(today, spec.start_date), spec.end_date), unit)
    if today > spec.end_date:
        potential = best
    else:
        kept = set(bridged) | ({repairable} if repairable else set())
        carried = streak_carried_into(spec, qualifying, now_window, kept)
        potential = max(best, carried + len([x for x in windows if x >= now_window]))
    completed = best >= needed
    return Outcome(
        progress={"type": "streak", "unit": unit, "needed": needed, "current_streak": current, "best_streak": best,
                  "windows_met": len([w for w in windows if w in qualifying]), "windows_total": len(windows),
                  "ratio": _ratio(Decimal(best), Decimal(needed))},
        completed=completed, failed=not completed and potential < needed,
    )


def progress_group(spec: ChallengeSpec, deposits: list[Deposit], today: date, team_total: Decimal | None,
                   team_members: int) -> Outcome:
    saved = sum((a for _, a in deposits), ZERO)
    goal = Decimal(str(spec.target["team_amount"]))
    min_members = int(spec.target["min_members"])
    total = team_total if team_total is not None else ZERO
    completed = team_total is not None and total >= goal and team_members >= min_members
    return Outcome(
        progress={"type": "group", "saved": str(saved), "team_total": str(total), "team_goal": str(goal),
                  "team_members": team_members, "min_members": min_members,
                  "has_team": team_total is not None, "ratio": _ratio(total, goal)},
        completed=completed, failed=not completed and today > spec.end_date,
    )


def progress_goal(spec: ChallengeSpec, deposits: list[Deposit], today: date,
                  bridged: frozenset[date] | set[date] = frozenset()) -> Outcome:
    """A personal goal: save `amount` in total by the end date (challenges/goals.py)."""
    saved = sum((a for _, a in deposits), ZERO)
    goal = Decimal(str(spec.target["amount"]))
    ratio = _ratio(saved, goal)
    completed = Decimal(ratio) >= 1
    best = best_run(spec, qualifying_windows(spec, deposits), bridged)
    return Outcome(
        progress={"type": "goal", "unit": spec.streak_unit, "goal": f"{goal:.2f}", "saved": str(saved),
                  "ratio": ratio, "best_streak": best},
        completed=completed, failed=not completed and today > spec.end_date,
    )


def progress_compute(spec: ChallengeSpec, deposits: list[Deposit], *, today: date, baseline: Decimal = ZERO,
                     team_total: Decimal | None = None, team_members: int = 0) -> Outcome:
    if spec.type in ("streak", "goal"):  # streaks that forgive (challenges/streaks.py)
        from challenges import streaks

        book = streaks.ledger(spec, deposits, until=today)
        repairable = book.repairable[0] if book.repairable else None
        outcome = (progress_goal(spec, deposits, today, book.bridged) if spec.type == "goal"
                   else progress_streak(spec, deposits, today, book.bridged, repairable))
        outcome.progress.update(streaks.progress_fields(spec, deposits, today, book=book))
        return outcome
    if spec.type == "fixed_amount":
        return progress_fixed_amount(spec, deposits, today)
    if spec.type == "percentage":
        return progress_percentage(spec, deposits, today, baseline)
    return progress_group(spec, deposits, today, team_total, team_members)


def total_periods(spec: ChallengeSpec) -> int:
    if spec.type == "fixed_amount":
        return len(windows_between(spec.start_date, spec.end_date, FREQUENCY_UNITS[spec.target["frequency"]]))
    return len(windows_between(spec.start_date, spec.end_date, spec.streak_unit))


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]
