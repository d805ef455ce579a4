"""The game's beat work: leaderboard snapshots, the challenge lifecycle (started notices, failing what can
no longer complete, settling at end_date) and the one streak-at-risk rule.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from challenges import effects, leaderboard, readcache, scoring, streaks
from challenges.models import Challenge, LeaderboardEntry, Participant
from challenges.services.awards import badges_evaluate_many
from challenges.services.expected import can_no_longer_complete, participant_expected
from challenges.services.participation import participant_complete
from challenges.services.rules import organization_current, rules_for, spec_of
from tenants.calendar import local_today, organization_zone

logger = logging.getLogger(__name__)

def leaderboard_snapshot(*, challenge: Challenge, final: bool = False) -> int:
    """Copy the current ranks into the `leaderboard` table and Participant.rank (final ones are frozen)."""
    board = leaderboard.board_from_database(challenge_id=challenge.pk, limit=10 ** 9, user_id=None)
    participants = {p.user_id: p for p in Participant.objects.filter(challenge=challenge)}
    now = timezone.now()
    rows, ranked = [], []
    for entry in board.results:
        p = participants[entry["user"]["id"]]
        rows.append(LeaderboardEntry(challenge=challenge, participant=p, user_id=p.user_id, team_id=p.team_id,
                                     rank=entry["rank"], score=entry["score"], total_saved=Decimal(entry["total_saved"]),
                                     is_final=final, taken_at=now))
        p.rank = entry["rank"]
        if final:
            p.final_rank = entry["rank"]
        ranked.append(p)
    LeaderboardEntry.objects.bulk_create(
        rows, batch_size=5000, update_conflicts=True, unique_fields=["challenge", "participant"],
        update_fields=["rank", "score", "total_saved", "team", "is_final", "taken_at"])
    Participant.objects.bulk_update(ranked, ["rank", "final_rank"], batch_size=5000)
    return len(rows)


def leaderboards_snapshot() -> int:
    """Snapshot the boards that changed since the last snapshot (beat, every 30 s)."""
    from savegame.redis import redis_client

    client = redis_client()
    count = 0
    for challenge in Challenge.objects.filter(status=Challenge.Status.ACTIVE):
        seen_key = tenant_snapshot_key(challenge.pk)
        try:
            agg = Participant.objects.filter(challenge=challenge).aggregate(v=Sum("version"), n=Count("pk"))
            stamp = f"{agg['n']}:{agg['v'] or 0}"
            if client.exists(leaderboard.ready_key(challenge.pk)) and \
                    client.zcard(leaderboard.board_key(challenge.pk)) != agg["n"]:
                # A write-through was lost (Redis restart, or a write racing a rebuild): rebuild on next read.
                leaderboard.board_forget(challenge.pk)
            if client.get(seen_key) == stamp:
                continue
            with transaction.atomic():
                leaderboard_snapshot(challenge=challenge)
            client.set(seen_key, stamp, ex=3600)
        except Exception:
            logger.warning("snapshot failed", extra={"challenge": challenge.pk})
            continue
        count += 1
    return count


def tenant_snapshot_key(challenge_id: int) -> str:
    from savegame.redis import tenant_key

    return tenant_key("lb", challenge_id, "snapshot")


def challenge_settle(*, challenge: Challenge, force: bool = False) -> None:
    """At end_date: final statuses (completion bonus or failed), frozen ranks, challenge_ended messages."""
    zone = organization_zone()
    today = local_today(zone)
    if not force and challenge.end_date >= today:
        return
    rules = rules_for()
    updates: list = []
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
        if challenge.settled_at:
            return
        settle_day = max(today, challenge.end_date + timedelta(days=1))
        participants = list(Participant.objects.select_for_update(of=("self",)).filter(challenge=challenge)
                            .select_related("user", "team").order_by("pk"))
        for p in participants:
            if p.status == Participant.Status.COMPLETED:
                continue
            expected = participant_expected(participant=p, rules=rules, today=settle_day)
            if expected["completed"]:
                participant_complete(p, challenge, rules, updates)
            else:
                p.status = Participant.Status.FAILED
                p.progress = expected["progress"]
                p.version += 1
                p.save(update_fields=["status", "progress", "version"])
                updates.append(effects.board_update(p))
        leaderboard_snapshot(challenge=challenge, final=True)
        ranks = dict(Participant.objects.filter(challenge=challenge).values_list("pk", "final_rank"))
        for p in participants:
            p.final_rank = ranks.get(p.pk)
        earned = badges_evaluate_many(subjects=[(p.user, [p]) for p in participants], zone=zone)
        effects.notify_batch([(p.user, "challenge_ended", _ended_message(challenge, p, earned.get(p.user_id, [])))
                       for p in participants])
        challenge.status = Challenge.Status.COMPLETED
        challenge.settled_at = timezone.now()
        challenge.save(update_fields=["status", "settled_at", "updated_at"])
        readcache.challenges_forget()
        effects.after_commit_board(updates)


# "X has started!" is news on the first day (or the next, if beat was down overnight), not a week later.
STARTED_NEWS_DAYS = timedelta(days=1)


def challenges_lifecycle() -> dict:
    """Beat: send challenge_started on the first day, fail participations that can no longer complete,
    and settle challenges whose end_date has passed."""
    zone = organization_zone()
    today = local_today(zone)
    started = settled = failed = 0
    for challenge in Challenge.objects.filter(status=Challenge.Status.ACTIVE, started_notified_at__isnull=True,
                                              start_date__lte=today, end_date__gte=today):
        with transaction.atomic():
            if Challenge.objects.filter(pk=challenge.pk, started_notified_at__isnull=True).update(
                    started_notified_at=timezone.now()) and challenge.start_date >= today - STARTED_NEWS_DAYS:
                for p in Participant.objects.filter(challenge=challenge).select_related("user"):
                    effects.notify(p.user, "challenge_started", {"challenge": challenge.name,
                                                         "end_date": challenge.end_date.isoformat()})
                started += 1
    for challenge in Challenge.objects.filter(status=Challenge.Status.ACTIVE, end_date__lt=today):
        challenge_settle(challenge=challenge)
        settled += 1
    rules = rules_for()
    for p in (Participant.objects.filter(challenge__status=Challenge.Status.ACTIVE, status=Participant.Status.ACTIVE,
                                         challenge__type__in=["fixed_amount", "streak", "goal"])
              .select_related("challenge", "team", "user").iterator(chunk_size=1000)):
        expected = participant_expected(participant=p, rules=rules, today=today)
        was_streak = (p.progress or {}).get("current_streak", 0)
        if was_streak and not expected["progress"].get("current_streak"):
            effects.event("streak_broken", p.user, {"challenge": p.challenge_id, "streak": was_streak})
        if expected["progress"] != p.progress or can_no_longer_complete(p, today):
            status = Participant.Status.FAILED if can_no_longer_complete(p, today) else p.status
            failed += status == Participant.Status.FAILED
            Participant.objects.filter(pk=p.pk).update(progress=expected["progress"], status=status)
    return {"started": started, "settled": settled, "failed": failed}


# The wording follows the streak's window: "no deposit yet this week" or "... yet today".
STREAK_AT_RISK_TEMPLATES = {scoring.WEEK: "streak_at_risk", scoring.DAY: "streak_at_risk_day"}


def streaks_at_risk(*, now: datetime | None = None, hours_before: int = 6) -> int:
    """Beat: warn members whose streak window closes within `hours_before` hours with no qualifying deposit.

    The one streak-at-risk rule: only members of an active streak challenge with a streak to lose,
    once per window, in the wording of the window (day or week)."""
    zone = organization_zone()
    now = timezone.localtime(now or timezone.now(), zone)
    today = now.date()
    sent = 0
    qs = (Participant.objects.filter(challenge__status=Challenge.Status.ACTIVE, status=Participant.Status.ACTIVE,
                                     challenge__type="streak", challenge__start_date__lte=today,
                                     challenge__end_date__gte=today)
          .select_related("challenge", "user"))
    for p in qs.iterator(chunk_size=1000):
        spec = spec_of(p.challenge)
        unit = spec.streak_unit
        window = scoring.window_start(today, unit)
        closes = datetime.combine(scoring.window_end(window, unit) + timedelta(days=1), time.min, tzinfo=zone)
        if closes - now > timedelta(hours=hours_before):
            continue
        label = scoring.window_label(window, unit)
        if p.streak_reminded_window == label:
            continue
        deposits = list(p.contributions.values_list("local_date", "amount"))
        qualifying = scoring.qualifying_windows(spec, deposits)
        if window in qualifying:
            continue
        # the streak the member sees: a frozen or earned-back window keeps it (challenges/streaks.py)
        bridged = streaks.ledger(spec, deposits, until=today).bridged
        carried = scoring.streak_carried_into(spec, qualifying, today, bridged)
        if carried == 0:
            continue
        with transaction.atomic():
            if Participant.objects.filter(pk=p.pk).exclude(streak_reminded_window=label).update(
                    streak_reminded_window=label):
                effects.notify(p.user, STREAK_AT_RISK_TEMPLATES.get(unit, "streak_at_risk"), {
                    "challenge": p.challenge.name, "streak": carried, "current_streak": carried, "unit": unit,
                    "min_amount": p.challenge.target.get("min_amount", ""), "closes_at": closes.isoformat()},
                    urgent=True)
                sent += 1
    return sent


def _ended_message(challenge: Challenge, participant: Participant, earned: list) -> dict:
    """Context of challenge_ended: the result in the member's language, final rank, badges won."""
    from django.utils import translation

    language = participant.user.language or organization_current().language or "en"
    with translation.override(language):
        result = str(Participant.Status(participant.status).label)
        badges = ", ".join(b.localized_name(language) for b in earned)
    return {"challenge": challenge.name, "result": result, "rank": participant.final_rank or "", "badges": badges,
            "points": participant.points, "status": participant.status,
            "total_saved": f"{participant.total_contributed:.2f}"}
