"""Streak freezes as rows (issue 18): what challenges/streaks.py says happened, kept as StreakFreeze rows.

`freezes_sync` compares the rules' ledger of each participation with its rows and writes only the
difference (+1 for something that now happened, -1 for something a later-arriving or reversed deposit
undid), so the scoring batch (incremental), the beat (windows closing with no deposit) and
`recompute_scores --fix` all converge on the same rows whatever order deposits arrived in. A freeze
newly used sends "Your streak is safe: 1 freeze used, 1 left" (SMS or push, through notifications).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Sum

from challenges import effects, scoring, streaks
from challenges.models import Challenge, Contribution, Participant, PersonalGoal, StreakFreeze

DETAILS = {
    "earned": "{n} qualifying windows in a row",
    "used": "window missed; the streak was kept",
    "earned_back": "window missed; earned back by a deposit of at least KES {amount} within 48 hours",
}


def _deposits(participant_ids: list[int]) -> dict[int, list[scoring.Deposit]]:
    out: dict[int, list] = {pid: [] for pid in participant_ids}
    for pid, day, amount in (Contribution.objects.filter(participant_id__in=participant_ids)
                             .order_by("local_date", "pk").values_list("participant_id", "local_date", "amount")):
        out[pid].append((day, amount))
    return out


def _stored(participant_ids: list[int]) -> dict[int, Counter]:
    out: dict[int, Counter] = {pid: Counter() for pid in participant_ids}
    for pid, reason, window, total in (StreakFreeze.objects.filter(participant_id__in=participant_ids)
                                       .values_list("participant_id", "reason", "window").annotate(total=Sum("count"))
                                       .values_list("participant_id", "reason", "window", "total").order_by()):
        if total:
            out[pid][(reason, window)] = total
    return out


def _expected(spec: scoring.ChallengeSpec, deposits: list, today: date) -> tuple[Counter, streaks.Ledger]:
    book = streaks.ledger(spec, deposits, until=today)
    return Counter((reason, window) for window, reason in book.events), book


def _difference(expected: Counter, stored: Counter) -> list[tuple[str, date, int]]:
    rows = []
    for key in sorted(set(expected) | set(stored)):
        delta = expected.get(key, 0) - stored.get(key, 0)
        rows += [(key[0], key[1], 1 if delta > 0 else -1)] * abs(delta)
    return rows


def freezes_sync(participants: Iterable[Participant], *, today: date, specs: dict | None = None,
                 deposits: dict | None = None, notify: bool = True, refresh_progress: bool = False) -> int:
    """Bring the freeze rows of these participations (challenge loaded) in line with the rules as of
    `today`. Returns how many rows were written. Costs one query, and one insert when something changed."""
    from challenges.services import spec_of

    subjects = [p for p in participants if p.challenge.type in streaks.FORGIVING_TYPES]
    if not subjects:
        return 0
    specs = specs if specs is not None else {}
    ids = [p.pk for p in subjects]
    deposits = deposits if deposits is not None else _deposits(ids)  # the scoring batch holds them already
    stored = _stored(ids)
    rows, messages = [], []
    for p in subjects:
        spec = specs.get(p.challenge_id) or spec_of(p.challenge)
        expected, book = _expected(spec, deposits[p.pk], today)
        diff = _difference(expected, stored[p.pk])
        minimum = streaks.window_minimum(spec) * streaks.EARN_BACK_FACTOR
        for reason, window, count in diff:
            detail = DETAILS[reason].format(n=spec.freeze_every, amount=f"{minimum:.2f}")
            rows.append(StreakFreeze(participant_id=p.pk, user_id=p.user_id, reason=reason, window=window,
                                     count=count, detail=detail if count > 0 else f"undone: {detail}"[:200]))
        if diff and refresh_progress:  # the beat: no deposit rewrote the progress, so refresh its streak part
            p.progress = {**(p.progress or {}), **streaks.progress_fields(spec, deposits[p.pk], today)}
            Participant.objects.filter(pk=p.pk).update(progress=p.progress)
        newly_used = [w for reason, w, count in diff if reason == "used" and count > 0]
        if newly_used and notify and max(newly_used) >= scoring.window_start(today, spec.streak_unit) - _span(spec):
            messages.append((p, len(newly_used), book.held))
    if rows:
        StreakFreeze.objects.bulk_create(rows)
    for p, used, left in messages:
        _notify_safe(p, used, left)
    return len(rows)


def _span(spec: scoring.ChallengeSpec):
    """Only a freeze used on the window that just closed is news (not one found by a late recompute)."""
    return timedelta(days={"day": 1, "week": 7}.get(spec.streak_unit, 31))


def _notify_safe(participant: Participant, used: int, left: int) -> None:
    goal = PersonalGoal.objects.filter(challenge_id=participant.challenge_id).values_list("name", flat=True).first()
    effects.notify(participant.user, "streak_freeze_used", {
        "challenge": goal or participant.challenge.name, "used": used, "left": left,
        "idempotency_key": f"freeze:{participant.pk}:{participant.challenge_id}:{left}:{used}"})
    effects.event("streak_freeze_used", participant.user, {"challenge": participant.challenge_id, "left": left})


def freezes_sync_all(*, today: date | None = None) -> int:
    """Beat: windows that closed with no deposit spend freezes (and break streaks) without any deposit
    arriving, so every running forgiving participation is brought up to date."""
    from challenges.services import local_today

    today = today or local_today()
    qs = (Participant.objects.filter(challenge__status=Challenge.Status.ACTIVE, status=Participant.Status.ACTIVE,
                                     challenge__type__in=sorted(streaks.FORGIVING_TYPES),
                                     challenge__start_date__lte=today)
          .select_related("challenge", "user").order_by("pk"))
    written, batch = 0, []
    for p in qs.iterator(chunk_size=500):
        batch.append(p)
        if len(batch) == 500:
            written += _sync_locked(batch, today)
            batch = []
    if batch:
        written += _sync_locked(batch, today)
    return written


def _sync_locked(batch: list[Participant], today: date) -> int:
    with transaction.atomic():
        # the scoring batch holds these row locks while it writes freezes: never both at once
        list(Participant.objects.select_for_update(of=("self",)).filter(pk__in=[p.pk for p in batch]).order_by("pk")
             .values_list("pk", flat=True))
        return freezes_sync(batch, today=today, refresh_progress=True)


def freezes_recompute(*, fix: bool = False, challenge_id: int | None = None, today: date | None = None) -> list[dict]:
    """recompute_scores: the freeze rows of every forgiving participation against the rules. One drift per
    participation whose rows differ; with fix=True the difference is written (rows are history: only
    compensating rows are added)."""
    from challenges.services import local_today, spec_of

    today = today or local_today()
    qs = (Participant.objects.filter(challenge__type__in=sorted(streaks.FORGIVING_TYPES))
          .select_related("challenge", "user").order_by("pk"))
    if challenge_id:
        qs = qs.filter(challenge_id=challenge_id)
    participants = list(qs)
    ids = [p.pk for p in participants]
    deposits, stored = _deposits(ids), _stored(ids)
    drifts = []
    for p in participants:
        expected, _book = _expected(spec_of(p.challenge), deposits[p.pk], today)
        diff = _difference(expected, stored[p.pk])
        if diff:
            drifts.append({"participant": p.pk, "challenge": p.challenge_id, "user": p.user_id,
                           "freezes": [(reason, window.isoformat(), count) for reason, window, count in diff]})
            if fix:
                with transaction.atomic():
                    freezes_sync([p], today=today, notify=False, refresh_progress=True)
    return drifts


def freeze_history(*, member, limit: int = 50) -> list[dict]:
    """The member's freeze rows, newest first, with their reason in the active language."""
    goals = dict(PersonalGoal.objects.filter(user=member).values_list("challenge_id", "name"))
    rows = (StreakFreeze.objects.filter(user=member).select_related("participant__challenge")
            .order_by("-created_at", "-pk")[:limit])
    return [{"reason": r.reason, "reason_label": str(StreakFreeze.Reason(r.reason).label), "count": r.count,
             "window": r.window.isoformat(), "detail": r.detail,
             "challenge": {"id": r.participant.challenge_id,
                           "name": goals.get(r.participant.challenge_id, r.participant.challenge.name)},
             "created_at": r.created_at.isoformat()} for r in rows]
