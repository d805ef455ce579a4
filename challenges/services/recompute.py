"""`scores_recompute` (manage.py recompute_scores): every participation recomputed from its deposits and
compared with what is stored; with fix=True, stored totals corrected and boards rebuilt.
"""

from __future__ import annotations

from django.db.models import F, Sum

from challenges import leaderboard
from challenges.models import Participant, PointAward
from challenges.services.expected import participant_expected
from challenges.services.member_metrics import member_metrics_drift, member_metrics_rebuild
from challenges.services.reversals import deposit_reversal_apply, reversed_still_counted
from challenges.services.rules import rules_for
from tenants.calendar import local_today


def scores_recompute(*, fix: bool = False, challenge_id: int | None = None) -> list[dict]:
    """Recompute every participation from its deposits and compare with the stored score and award rows.

    Returns one row per drift. With fix=True, stored totals are corrected and the leaderboard rebuilt
    (award rows are history and are never rewritten; a drift between rows and totals is reported).
    `reversal` rows (negative) count like any other row. A reversed deposit still counted (its
    claw-back never ran) is reported; with fix=True it is clawed back first (challenges/services/reversals.py).
    Every member's metrics row (challenges/services/member_metrics.py) is compared with the ledger's
    figures too (not when one challenge is named: the row is the member's, not the challenge's); with
    fix=True all rows are rebuilt from the ledger.
    """
    rules, today = rules_for(), local_today()
    drifts = []
    still_counted = reversed_still_counted(challenge_id=challenge_id)
    if fix:
        for transaction_id in sorted({t for ids in still_counted.values() for t in ids}):
            deposit_reversal_apply(transaction_id=transaction_id)
    qs = Participant.objects.select_related("challenge", "team").order_by("pk")
    if challenge_id:
        qs = qs.filter(challenge_id=challenge_id)
    award_sums = dict(PointAward.objects.filter(participant__in=qs).values("participant")
                      .annotate(total=Sum("points")).values_list("participant", "total"))
    fixed_challenges = set()
    for participant in qs.iterator(chunk_size=2000):
        expected = participant_expected(participant=participant, rules=rules, today=today)
        awarded = award_sums.get(participant.pk, 0)
        problems = {}
        if participant.points != expected["points"]:
            problems["points"] = (participant.points, expected["points"])
        if awarded != participant.points:
            problems["award_rows"] = (awarded, participant.points)
        if participant.total_contributed != expected["total_contributed"]:
            problems["total_contributed"] = (str(participant.total_contributed), str(expected["total_contributed"]))
        if participant.pk in still_counted:
            problems["reversed_still_counted"] = still_counted[participant.pk]
        if problems:
            drifts.append({"participant": participant.pk, "challenge": participant.challenge_id,
                           "user": participant.user_id, **problems})
            if fix:
                Participant.objects.filter(pk=participant.pk).update(
                    points=expected["points"], total_contributed=expected["total_contributed"],
                    progress=expected["progress"], version=F("version") + 1)
                fixed_challenges.add(participant.challenge_id)
    for cid in fixed_challenges:
        leaderboard.board_forget(cid)
    from challenges.freezes import freezes_recompute  # issue 18: freeze rows against the rules

    drifts += freezes_recompute(fix=fix, challenge_id=challenge_id, today=today)
    if challenge_id is None:
        drifts += member_metrics_drift()
        if fix:
            member_metrics_rebuild()
    return drifts
