"""Badge awards: every badge whose criteria a member now meets (challenges/badges.py, the rule engine),
judged for a whole batch of members with a fixed number of queries (challenges/metrics.py).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo


from challenges import effects, readcache
from challenges.badges import BadgeDef, catalogue, criteria_evaluate
from challenges.metrics import MetricsLoader
from challenges.models import BadgeAward, Challenge, Participant
from savegame.metrics import BADGES_AWARDED, count_on_commit, org_label
from tenants.calendar import organization_zone


def badges_evaluate(*, user, participants: list[Participant] = ()) -> list[BadgeDef]:
    """Award every badge whose criteria the member now meets (once per member, or once per challenge)."""
    return badges_evaluate_many(subjects=[(user, list(participants))]).get(user.pk, [])


def badges_evaluate_many(*, subjects: list[tuple], zone: ZoneInfo | None = None, outbox: list | None = None,
                         events: list | None = None, metrics: dict | None = None) -> dict[int, list[BadgeDef]]:
    """`badges_evaluate` for many members at once: (user, participations to judge per-challenge badges on)
    pairs in, {user id: badges earned now} out, with a fixed number of queries for the whole batch.
    The badge_earned messages and events are queued now, or appended to `outbox` / `events` for a
    caller that writes its own in one go. `metrics`: the members' metrics rows when the caller has
    just written them (the scoring batch), else they are read when a rule asks."""
    badges = catalogue()
    if not badges or not subjects:
        return {}
    from challenges.services.rules import rules_for

    if not rules_for().goals_count:  # issue 18: personal goals earn no badges when the org says so
        subjects = [(user, [p for p in ps if p.challenge.type != Challenge.Type.GOAL]) for user, ps in subjects]
    user_ids = [user.pk for user, _ in subjects]
    earned = set(BadgeAward.objects.filter(user_id__in=user_ids).values_list("user_id", "badge_key", "challenge_id"))
    loader = MetricsLoader(user_ids, zone or organization_zone(), rows=metrics)
    new: list[tuple] = []
    for user, participants in subjects:
        metric = loader.metric(user.pk)
        for badge in badges:
            if badge.per_challenge:
                new += [(user, badge, p.challenge_id) for p in participants
                        if (user.pk, badge.key, p.challenge_id) not in earned
                        and criteria_evaluate(badge.criteria, loader.metric(user.pk, p))]
            elif (user.pk, badge.key, None) not in earned and criteria_evaluate(badge.criteria, metric):
                new.append((user, badge, None))
    if not new:
        return {}
    # Concurrent scorers of one member are serialised by the participation locks; the unique
    # constraints and the message's idempotency key cover a member without participations.
    BadgeAward.objects.bulk_create([BadgeAward(user=user, badge_key=badge.key, challenge_id=challenge_id)
                                    for user, badge, challenge_id in new], ignore_conflicts=True)
    readcache.points_forget(user_ids=[user.pk for user, _badge, _challenge_id in new])
    count_on_commit(BADGES_AWARDED, len(new), org=org_label())
    messages = [(user, "badge_earned", {
        "badge": badge.localized_name(user.language or None), "badge_slug": badge.slug, "icon": badge.icon,
        "rarity": badge.rarity, "idempotency_key": f"badge:{badge.key}:{challenge_id or 0}"})
        for user, badge, challenge_id in new]
    recorded = [("badge_earned", user, {"badge": badge.key, "challenge": challenge_id})
                for user, badge, challenge_id in new]
    if outbox is None:
        effects.notify_batch(messages)
    else:
        outbox += messages
    if events is None:
        effects.events(recorded)
    else:
        events += recorded
    out: dict[int, list[BadgeDef]] = {}
    for user, badge, _challenge_id in new:
        out.setdefault(user.pk, []).append(badge)
    return out
