"""Streaks that forgive: streak freezes and earning a missed window back (pure; no database).

The rules (docs/GAMIFICATION.md "Streaks that forgive"), per participation, walking its streak windows
(day, ISO week or calendar month) from the challenge's start:

- every `every` qualifying windows in a row earn a freeze (org setting `freeze_every`, default 4;
  0 turns freezes off); a member holds at most `cap` (2); one earned while holding 2 is not kept;
- a window that closes without a qualifying deposit while the member holds a freeze spends one
  automatically: the streak survives (the window is *bridged*: it neither adds to the streak nor
  breaks it, and it does not count toward the next freeze);
- with no freeze left, a missed window is *earned back* by one deposit of at least twice the
  window's minimum within 48 hours of its close (its 2 following local days), once per challenge;
- otherwise the streak resets.

Everything is a function of the set of deposits and of `until` (which windows have closed), never of
the order deposits arrived in, so a recompute always equals what was recorded incrementally
(challenges/freezes.py writes the difference as StreakFreeze rows).

A bridged window counts everywhere a streak does, the same way (it keeps the run, adds nothing to it
and no saved amount): the current streak the member sees, the streak-at-risk reminder, the
streak_broken event, a streak challenge's N-in-a-row target and the points multiplier
(scoring.run_step). That makes one thing non-monotone: a late deposit can change which missed windows
the freezes and the one earn-back keep (a freeze earned sooner is spent sooner, an earlier window
earned back uses the earn-back up), so a later window kept before breaks; the scoring batch then takes
back what keeping it had earned (docs/GAMIFICATION.md "Late deposits").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from challenges import scoring

FREEZE_CAP = 2
EARN_BACK_DAYS = 2  # 48 hours after the window closes: its two following local days
EARN_BACK_FACTOR = Decimal("2")
# Challenge types whose progress shows a streak the member keeps (and so can protect).
FORGIVING_TYPES = frozenset({"streak", "goal"})


def window_minimum(spec: scoring.ChallengeSpec) -> Decimal:
    """The least a window needs to qualify (earn-back needs twice this in one deposit)."""
    target = spec.target or {}
    if spec.type in ("streak", "goal"):
        return Decimal(str(target.get("min_amount") or "0.01"))
    if spec.type == "fixed_amount" and target.get("frequency") in ("daily", "weekly"):
        return Decimal(str(target["amount"]))
    return Decimal("0.01")


@dataclass
class Ledger:
    """What the rules say happened, window by window, up to `until`."""

    events: list[tuple[date, str]] = field(default_factory=list)  # (window start, "earned"/"used"/"earned_back")
    bridged: set[date] = field(default_factory=set)  # windows kept by a freeze or an earn-back
    held: int = 0
    earn_back_used: bool = False
    # The latest closed window that broke the streak and can still be earned back: (window, last day, amount)
    repairable: tuple[date, date, Decimal] | None = None

    def count(self, reason: str) -> int:
        return sum(1 for _, r in self.events if r == reason)


def ledger(spec: scoring.ChallengeSpec, deposits: Iterable[scoring.Deposit], *, until: date,
           every: int | None = None, cap: int = FREEZE_CAP) -> Ledger:
    """Play the forgiveness rules over the challenge's windows that closed before `until` (and the open
    one, if it already qualifies)."""
    every = spec.freeze_every if every is None else every
    deposits = [(d, Decimal(a)) for d, a in deposits]
    out = Ledger()
    if spec.type not in FORGIVING_TYPES:
        return out
    unit = spec.streak_unit
    qualifying = scoring.qualifying_windows(spec, deposits)
    minimum = window_minimum(spec) * EARN_BACK_FACTOR
    big_days = sorted({d for d, a in deposits if a >= minimum})
    since = 0
    alive = False
    for w in scoring.windows_between(spec.start_date, spec.end_date, unit):
        end = scoring.window_end(w, unit)
        if w in qualifying:
            alive = True
            since += 1
            if every and since >= every:
                since = 0
                if out.held < cap:
                    out.held += 1
                    out.events.append((w, "earned"))
            continue
        if end >= until or w > until:
            break  # the window is still open (or in the future): nothing missed yet
        if not alive:
            continue  # no streak to protect
        if out.held:
            out.held -= 1
            out.bridged.add(w)
            out.events.append((w, "used"))
            continue
        last = end + timedelta(days=EARN_BACK_DAYS)
        repaired = any(end < d <= last for d in big_days)
        if not out.earn_back_used and repaired:
            out.earn_back_used = True
            out.bridged.add(w)
            out.events.append((w, "earned_back"))
            continue
        alive, since = False, 0
        out.repairable = (w, last, minimum) if not out.earn_back_used and until <= last else None
    return out


def bridged_windows(spec: scoring.ChallengeSpec, deposits: Iterable[scoring.Deposit]) -> frozenset[date]:
    """The windows the rules keep (frozen or earned back) before the latest deposit's window closes:
    what the points multiplier counts. A function of the set of deposits alone: every window before a
    deposit's own has closed by the time it is made, so the day it is scored on changes nothing."""
    deposits = list(deposits)
    if spec.type not in FORGIVING_TYPES or not deposits:
        return frozenset()
    last = max(day for day, _ in deposits)
    return frozenset(ledger(spec, deposits, until=last + timedelta(days=1)).bridged)


def progress_fields(spec: scoring.ChallengeSpec, deposits: list[scoring.Deposit], today: date,
                    book: Ledger | None = None) -> dict:
    """The forgiveness part of a participation's progress (merged into it by scoring.progress_compute)."""
    book = book or ledger(spec, deposits, until=today)
    qualifying = scoring.qualifying_windows(spec, deposits)
    fields = {"current_streak": scoring.current_run(spec, qualifying, book.bridged, today),
              "freezes_held": book.held, "freezes_used": book.count("used"),
              "earn_back_used": book.earn_back_used, "freeze_every": spec.freeze_every}
    if book.repairable:
        window, last, amount = book.repairable
        fields["earn_back"] = {"window": scoring.window_label(window, spec.streak_unit), "by": last.isoformat(),
                               "amount": f"{amount:.2f}"}
    return fields
