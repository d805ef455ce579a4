"""The member metrics row (challenges.MemberMetrics): the deposit figures badges need, kept per member.

Badges ask for a member's total saved, deposit count, largest deposit and best day / week streaks
(challenges/badges.py METRICS). Reading them from the ledger cost a scan of every deposit of the
batch's members, so a batch got slower as the ledger grew (issue 20: 7 ms at 1.6k ledger rows, 2.2 s
at 200k). The scoring batch now adds its deposits to each member's row in its own transaction
(`member_metrics_add`), at a cost that depends on the batch, not on the ledger. The row is rebuilt
from the ledger (payments' figures, through challenges/ledger.py) when a deposit is reversed, when a
member has no row yet, and by recompute_scores (`member_metrics_drift`, `member_metrics_rebuild`).

What the row holds is exactly the ledger's figures of the member's deposits that are scored (a
ScoredDeposit row) and still count; the property tests (tests/challenges/test_properties.py) check
that the incremental row equals the rebuilt one after any sequence of deposits and reversals.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from challenges import ledger, metrics
from challenges.models import MemberMetrics, ScoredDeposit
from tenants.calendar import organization_zone

FIGURES = ("total_saved", "deposits_count", "largest_deposit", "best_streak_days", "best_streak_weeks", "day_runs")


def _figures(row: MemberMetrics) -> dict:
    return {name: getattr(row, name) for name in FIGURES}


def member_metrics_expected(*, user_ids: list[int] | None, zone=None) -> dict[int, MemberMetrics]:
    """Each member's row as the ledger says it should be (unsaved instances; members without
    scored deposits get zeros when named in `user_ids`)."""
    zone = zone or organization_zone()
    out = {uid: MemberMetrics(user_id=uid) for uid in user_ids or ()}
    for figure in ledger.reader().deposit_figures(user_ids=user_ids, zone=zone,
                                                  among=ScoredDeposit.objects.values("transaction_id")):
        runs = metrics.runs_from_days(figure["days"])
        out[figure["user_id"]] = MemberMetrics(
            user_id=figure["user_id"], total_saved=figure["total"], deposits_count=figure["n"],
            largest_deposit=figure["largest"], day_runs=runs, best_streak_days=metrics.runs_best(runs, "day"),
            best_streak_weeks=metrics.runs_best(runs, "week"))
    return out


_UPSERT = """
INSERT INTO "{table}" (user_id, total_saved, deposits_count, largest_deposit, best_streak_days, best_streak_weeks,
                       day_runs, updated_at)
SELECT v.user_id, v.total_saved, v.deposits_count, v.largest_deposit, v.best_streak_days, v.best_streak_weeks,
       v.day_runs, now()
FROM jsonb_to_recordset(%s::jsonb) AS v(user_id bigint, total_saved numeric, deposits_count integer,
     largest_deposit numeric, best_streak_days integer, best_streak_weeks integer, day_runs jsonb)
ORDER BY v.user_id
ON CONFLICT (user_id) DO {action}
"""
_OVERWRITE = ("UPDATE SET total_saved = EXCLUDED.total_saved, deposits_count = EXCLUDED.deposits_count, "
              "largest_deposit = EXCLUDED.largest_deposit, best_streak_days = EXCLUDED.best_streak_days, "
              "best_streak_weeks = EXCLUDED.best_streak_weeks, day_runs = EXCLUDED.day_runs, updated_at = now()")


def _write(rows: list[MemberMetrics], *, overwrite: bool) -> set[int]:
    """One statement for many rows; returns the members whose row it wrote."""
    if not rows:
        return set()
    document = json.dumps([{"user_id": r.user_id, **_figures(r)} for r in rows], default=str)
    sql = _UPSERT.format(table=MemberMetrics._meta.db_table, action=_OVERWRITE if overwrite else "NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql + " RETURNING user_id", [document])
        return {row[0] for row in cursor.fetchall()}


def _locked(user_ids) -> dict[int, MemberMetrics]:
    return {m.user_id: m for m in MemberMetrics.objects.select_for_update().filter(user_id__in=user_ids)
            .order_by("user_id")}


def member_metrics_add(*, deposits: list[tuple[int, date, Decimal]], zone=None) -> dict[int, MemberMetrics]:
    """Add freshly scored deposits ((member, local day, amount), their ScoredDeposit rows already
    written in this transaction) to their members' rows. Two statements per batch: the rows locked,
    then written back. A member without a row gets one built from the ledger, which already holds
    this batch's deposits; if another batch wrote that row meanwhile, the deposits are added to it.
    Returns every named member's row as it now stands."""
    by_user: dict[int, list[tuple[date, Decimal]]] = {}
    for user_id, day, amount in deposits:
        by_user.setdefault(user_id, []).append((day, Decimal(amount)))
    rows = _locked(sorted(by_user))
    missing = [uid for uid in sorted(by_user) if uid not in rows]
    if missing:
        built = member_metrics_expected(user_ids=missing, zone=zone)
        written = _write([built[uid] for uid in missing], overwrite=False)
        rows.update({uid: built[uid] for uid in written})
        rows.update(_locked([uid for uid in missing if uid not in written]))  # raced: add to theirs
        for uid in written:
            del by_user[uid]
    for user_id, items in by_user.items():
        row = rows[user_id]
        runs = row.day_runs
        for day, amount in items:
            row.total_saved += amount
            row.deposits_count += 1
            row.largest_deposit = max(row.largest_deposit, amount)
            runs = metrics.runs_add(runs, day)
        row.day_runs = runs
        row.best_streak_days, row.best_streak_weeks = metrics.runs_best(runs, "day"), metrics.runs_best(runs, "week")
    _write([rows[uid] for uid in sorted(by_user)], overwrite=True)
    return rows


@transaction.atomic
def member_metrics_rebuild(*, user_ids: list[int] | None = None) -> int:
    """Rewrite members' rows from the ledger (a reversal, recompute_scores --fix). The rows are
    locked first, so a batch scoring the same member commits before the ledger is read."""
    if user_ids is not None:
        _locked(user_ids)
    expected = member_metrics_expected(user_ids=user_ids)
    if user_ids is None:
        MemberMetrics.objects.exclude(user_id__in=list(expected)).delete()
    return len(_write(sorted(expected.values(), key=lambda r: r.user_id), overwrite=True))


def member_metrics_rows(*, user_ids: list[int], zone=None) -> dict[int, MemberMetrics]:
    """The rows of these members, building (and keeping) those that do not exist yet."""
    rows = {m.user_id: m for m in MemberMetrics.objects.filter(user_id__in=user_ids)}
    missing = [uid for uid in user_ids if uid not in rows]
    if missing:
        built = member_metrics_expected(user_ids=missing, zone=zone)
        _write([built[uid] for uid in missing], overwrite=False)
        rows.update(built)
    return rows


def member_metrics_drift() -> list[dict]:
    """Members whose stored row differs from the ledger's figures (recompute_scores)."""
    stored = {m.user_id: m for m in MemberMetrics.objects.all()}
    expected = member_metrics_expected(user_ids=list(stored))
    drifts = []
    for user_id in sorted(set(stored) | set(expected)):
        have = _figures(stored[user_id]) if user_id in stored else None
        want = _figures(expected[user_id])
        if have != want:
            drifts.append({"member_metrics": user_id, "user": user_id, "stored": have, "expected": want})
    return drifts
