"""The scoring batch: what happens to the game when payments hands over verified deposits.

`deposits_score(transaction_ids=[...])` is the one entry point payments calls (payments/inbox.py
`deposits_hand_over`), in the hand-over's own database transaction. It takes the `ScoredDeposit`
guard rows (one per ledger row, ON CONFLICT: a deposit handed over twice scores once), then
`_ScoringBatch` reads every row it needs once, applies the pure rules of challenges/scoring.py
deposit by deposit in id order, and writes contributions, point awards, participations, team and
challenge totals, the member metrics badges read (challenges/services/member_metrics.py), messages
and events in bulk. The one sweep of deposits a lost hand-over left behind is payments'
(payments/inbox.py `inbox_sweep`, asking `challenges.selectors.deposits_unscored`).
`deposit_score(transaction_id=)` is the one-deposit form.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from challenges import effects, leaderboard, ledger, readcache, scoring
from challenges.models import Challenge, Contribution, Participant, PointAward, ScoredDeposit, Team
from challenges.services.awards import badges_evaluate, badges_evaluate_many
from challenges.services.member_metrics import member_metrics_add
from challenges.services.participation import participant_baseline, participant_join, team_goal_record_and_notify
from challenges.services.rules import organization_current, rules_for, spec_of
from savegame.bulk import insert_rows, update_rows
from savegame.metrics import deposits_scored_observe
from tenants.calendar import local_today, organization_zone

logger = logging.getLogger(__name__)

def _local_date(tx, zone: ZoneInfo) -> date:
    when = tx.transacted_at or tx.verified_at or tx.created_at or timezone.now()
    return timezone.localtime(when, zone).date()


SCORING_BATCH = 500  # deposits per transaction when a backlog is scored (docs/BENCHMARKS.md)


def deposit_score(*, transaction_id: int) -> list[int]:
    """Score one verified deposit: progress, points, streaks, teams, leaderboards, badges.

    The one-deposit form of `deposits_score`, for scripts and tests; payments hands deposits over
    through `deposits_score` only (payments/inbox.py `deposits_hand_over`). Idempotent: the ledger row is locked and marked scored in the same transaction, so scoring
    it again (or concurrently) changes nothing. A deposit tagged with a challenge counts only
    there; an untagged one counts toward every active challenge the member has joined whose
    dates contain the deposit's local date.
    """
    return deposits_score(transaction_ids=[transaction_id])


def deposits_score(*, transaction_ids: Iterable[int]) -> list[int]:
    """Score several verified deposits in one transaction: the batch form of `deposit_score`, with
    the same result as scoring each one in id order, but a fixed number of queries and Redis round
    trips per batch instead of per deposit. Deposits already scored (or not verified) are skipped:
    the `ScoredDeposit` rows, written here on the locked ledger rows, are the one guard of the
    payments -> game hand-over. Returns the ids scored now."""
    ids = sorted({int(i) for i in transaction_ids})
    if not ids:
        return []
    with transaction.atomic():
        txs = ledger.reader().deposits_locked(transaction_ids=ids)
        fresh = _mark_scored([tx.pk for tx in txs])
        txs = [tx for tx in txs if tx.pk in fresh]
        if txs:
            _ScoringBatch(txs).score()
            deposits_scored_observe(verified_at=[tx.verified_at for tx in txs])
    return [tx.pk for tx in txs]


def _mark_scored(transaction_ids: list[int]) -> set[int]:
    """Insert the idempotency markers in one statement; returns the ids that were not scored before."""
    if not transaction_ids:
        return set()
    table = ScoredDeposit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (transaction_id, scored_at) SELECT unnest(%s::bigint[]), now() "
                       "ON CONFLICT (transaction_id) DO NOTHING RETURNING transaction_id", [list(transaction_ids)])
        return {row[0] for row in cursor.fetchall()}


class _ScoringBatch:
    """Deposits scored together: rows are read once, the rules applied in memory deposit by deposit
    (id order), and everything written back in bulk before commit.

    Locks: the ledger rows, then the members' participations (one statement, id order), then their
    teams, then challenge totals in id order, so concurrent batches never wait on each other in a cycle.
    """

    def __init__(self, txs: list):
        self.txs = txs
        organization = organization_current()
        self.zone, self.rules = organization_zone(organization), rules_for(organization)
        self.today, self.now = local_today(self.zone), timezone.now()
        self.users = {tx.user_id: tx.user for tx in txs}
        self.specs: dict[int, scoring.ChallengeSpec] = {}
        self.new_contributions: list[_Counted] = []
        self.touched: dict[int, _Counted] = {}
        self.awards: list[tuple] = []
        self.changed: dict[int, Participant] = {}
        self.challenge_saved: dict[int, Decimal] = {}
        self.team_totals: dict[int, dict[int, Decimal]] = {}
        self.messages: list[tuple] = []  # (user, context, primary rank query before, after)
        self.top5: list[tuple] = []
        self.events: list[tuple] = []
        self.badge_subjects: dict[int, dict[int, Participant]] = {}

    def score(self) -> None:
        self._join_tagged()
        self._load()
        for tx in self.txs:
            self._deposit(tx)
        self._write()

    # -- reading ------------------------------------------------------------------------------------------
    def _counts_in(self, tx, day: date) -> bool:
        challenge = tx.challenge
        if challenge.type == Challenge.Type.GOAL and challenge.created_by_id != tx.user_id:
            return False  # issue 18: someone else's goal code counts nowhere
        return challenge.status == Challenge.Status.ACTIVE and challenge.start_date <= day <= challenge.end_date

    def _join_tagged(self) -> None:
        """Paying with a challenge's code joins it (the member chose it explicitly)."""
        tagged = [tx for tx in self.txs if tx.challenge_id and self._counts_in(tx, _local_date(tx, self.zone))]
        if not tagged:
            return
        joined = set(Participant.objects.filter(challenge_id__in={tx.challenge_id for tx in tagged},
                                                user_id__in={tx.user_id for tx in tagged})
                     .values_list("challenge_id", "user_id"))
        for tx in tagged:
            if (tx.challenge_id, tx.user_id) not in joined:
                participant_join(challenge=tx.challenge, user=tx.user)
                joined.add((tx.challenge_id, tx.user_id))

    def _load(self) -> None:
        participants = list(Participant.objects.select_for_update(of=("self",))
                            .filter(user_id__in=self.users, challenge__status=Challenge.Status.ACTIVE).order_by("pk"))
        challenges = {c.pk: c for c in Challenge.objects.filter(pk__in={p.challenge_id for p in participants})}
        self.by_user: dict[int, list[Participant]] = {}
        for p in participants:
            p.user, p.challenge = self.users[p.user_id], challenges[p.challenge_id]
            self.by_user.setdefault(p.user_id, []).append(p)
        team_ids = {p.team_id for p in participants if p.team_id}
        self.teams = {t.pk: t for t in Team.objects.select_for_update().filter(pk__in=team_ids).order_by("pk")}
        for p in participants:
            if p.team_id:
                p.team = self.teams[p.team_id]
        self.contributions: dict[int, list[_Counted]] = {p.pk: [] for p in participants}
        for pk, participant_id, transaction_id, amount, day, points in (
                Contribution.objects.filter(participant_id__in=self.contributions).order_by("local_date", "pk")
                .values_list("pk", "participant_id", "transaction_id", "amount", "local_date", "points_awarded")):
            self.contributions[participant_id].append(_Counted(participant_id, transaction_id, amount, day, points, pk))
        self.tops = _boards_top({p.challenge_id for p in participants})

    def _spec(self, challenge: Challenge) -> scoring.ChallengeSpec:
        if challenge.pk not in self.specs:
            self.specs[challenge.pk] = spec_of(challenge)
        return self.specs[challenge.pk]

    # -- the rules, deposit by deposit ---------------------------------------------------------------------
    def _deposit(self, tx) -> None:
        day = _local_date(tx, self.zone)
        mine = self.by_user.get(tx.user_id, [])
        if tx.challenge_id:
            targets = [p for p in mine if p.challenge_id == tx.challenge_id] if self._counts_in(tx, day) else []
        else:
            targets = sorted((p for p in mine if p.challenge.start_date <= day <= p.challenge.end_date),
                             key=lambda p: p.challenge_id)
        primary = targets[0] if targets else None
        before = _rank_query(primary) if primary is not None else None
        earned = sum(self._apply(p, tx, day) for p in targets)
        _referrer_reward(tx, tx.user, self.rules)  # the referrer's points, not this member's
        # The one confirmation of this deposit (payments sends none): urgent, and keyed by the
        # ledger row so a replay of scoring can never queue a second message.
        self.messages.append((tx.user, _deposit_message(tx, tx.user, primary, targets, max(earned, 0)), before,
                              _rank_query(primary) if primary is not None else None))
        # The one deposit_verified event (payments records none): written with the score, once.
        self.events.append(("deposit_verified", tx.user, {
            "transaction_id": tx.pk, "challenge_id": tx.challenge_id, "amount": f"{tx.amount:.2f}",
            "source": tx.source, "challenges": [p.challenge_id for p in targets], "points": earned}))
        subjects = self.badge_subjects.setdefault(tx.user_id, {})
        subjects.update({p.pk: p for p in targets})

    def _apply(self, participant: Participant, tx, day: date) -> int:
        challenge = participant.challenge
        spec = self._spec(challenge)
        rules = scoring.rules_for_spec(spec, self.rules)  # issue 18: goals may not count for points
        existing = self.contributions[participant.pk]
        contribution = _Counted(participant.pk, tx.pk, tx.amount, day)
        contributions = [*existing, contribution]
        deposits = [(c.local_date, c.amount) for c in contributions]
        awards = []
        for c, (deserved, multiplier) in zip(contributions, scoring.deposit_points(spec, rules, deposits), strict=True):
            is_new = c is contribution
            if is_new or deserved != c.points_awarded:
                if is_new:
                    reason = PointAward.Reason.DEPOSIT
                    detail = f"{c.amount} KES x {rules.points_per_kes} x {multiplier}"
                elif deserved > c.points_awarded:
                    reason = PointAward.Reason.STREAK_TOPUP
                    detail = f"streak multiplier applied after an earlier deposit arrived late ({c.local_date})"
                else:  # the one non-monotone rule: which missed windows stay kept (challenges/streaks.py)
                    reason = PointAward.Reason.STREAK_FIX
                    detail = (f"streak multiplier taken back: a late deposit ({contribution.local_date}) changed "
                              f"which missed windows a freeze or the earn-back keeps before {c.local_date}")
                awards.append(_award(participant, reason, deserved - c.points_awarded, transaction_id=c.transaction_id,
                                     amount=c.amount, multiplier=multiplier, detail=detail))
                c.points_awarded = deserved
                if not is_new and c.pk:
                    self.touched[c.pk] = c
        # The early-bird bonus was paid when the first early deposit was scored (the rule is monotone).
        if scoring.early_bird_earned(spec, rules, deposits) and not scoring.early_bird_earned(
                spec, rules, [(c.local_date, c.amount) for c in existing]):
            awards.append(_award(participant, PointAward.Reason.EARLY_BIRD, rules.early_bird_bonus,
                                 detail=f"A deposit in the first {rules.early_bird_days} days"))
        existing.append(contribution)
        self.new_contributions.append(contribution)
        team_total, team_members = None, 0
        if participant.team_id:
            team = participant.team
            team.total_saved += tx.amount
            team_total, team_members = team.total_saved, team.members_count
            self.team_totals.setdefault(challenge.pk, {})[team.pk] = team.total_saved
        if participant.baseline is None and challenge.type == Challenge.Type.PERCENTAGE:
            participant.baseline = participant_baseline(challenge, participant.user_id, self.zone)
        outcome = scoring.progress_compute(spec, deposits, today=self.today,
                                           baseline=participant.baseline or Decimal("0"),
                                           team_total=team_total, team_members=team_members)
        self.awards += awards
        earned = sum(a[_AWARD_POINTS] for a in awards)
        top_before = self.tops.get(challenge.pk)
        participant.points += earned
        participant.total_contributed += tx.amount
        participant.progress = outcome.progress
        participant.version += 1
        if outcome.completed:
            earned += self._complete(participant, challenge)
        elif participant.status == Participant.Status.COMPLETED and spec.type == Challenge.Type.STREAK:
            earned += self._uncomplete(participant, challenge, outcome, contribution)
        elif participant.status != Participant.Status.COMPLETED:
            participant.status = Participant.Status.FAILED if outcome.failed else Participant.Status.ACTIVE
        self.changed[participant.pk] = participant
        self.challenge_saved[challenge.pk] = self.challenge_saved.get(challenge.pk, Decimal("0")) + tx.amount
        if top_before is not None:
            self.tops[challenge.pk], entered = _top5_after(participant, top_before)
            if entered:
                self.top5.append((participant.user, {"challenge": challenge.name, "rank": entered,
                                                     "score": participant.points}))
        return earned

    def _complete(self, participant: Participant, challenge: Challenge) -> int:
        """Mark completed and pay the completion bonus. Returns the bonus paid now."""
        if participant.status == Participant.Status.COMPLETED:
            return 0
        participant.status, participant.completed_at = Participant.Status.COMPLETED, self.now
        participant.version += 1
        # once per completion, as in participant_complete (issue 18: goals may not count)
        bonus = scoring.rules_for_spec(self._spec(challenge), self.rules).consistency_bonus
        if not bonus:
            return 0
        self.awards.append(_award(participant, PointAward.Reason.COMPLETION, bonus, detail=f"Completed {challenge.name}"))
        participant.points += bonus
        return bonus

    def _uncomplete(self, participant: Participant, challenge: Challenge, outcome: scoring.Outcome,
                    contribution: _Counted) -> int:
        """A running streak challenge completed only through a missed window that a late deposit left unkept (a
        freeze or the earn-back now keeps another window): no longer completed, and the completion bonus comes
        back off, as a reversal would take it (the challenge runs, so it can be completed again). Returns the
        points change."""
        participant.status = Participant.Status.FAILED if outcome.failed else Participant.Status.ACTIVE
        participant.completed_at = None
        bonus = scoring.rules_for_spec(self._spec(challenge), self.rules).consistency_bonus
        if not bonus:
            return 0
        self.awards.append(_award(participant, PointAward.Reason.STREAK_FIX, -bonus, detail=(
            f"completion bonus taken back: a late deposit ({contribution.local_date}) changed which missed windows "
            f"are kept, so the best streak is now {outcome.progress.get('best_streak')}")))
        participant.points -= bonus
        return -bonus

    # -- writing ---------------------------------------------------------------------------------------------
    def _write(self) -> None:
        insert_rows(Contribution, ["participant", "transaction", "amount", "local_date", "points_awarded"],
                    [(c.participant_id, c.transaction_id, c.amount, c.local_date, c.points_awarded)
                     for c in self.new_contributions])
        update_rows(Contribution, [("id", "bigint"), ("points_awarded", "bigint")],
                    [(c.pk, c.points_awarded) for c in self.touched.values()])
        insert_rows(PointAward, _AWARD_FIELDS, self.awards)
        readcache.points_forget(user_ids=[row[0] for row in self.awards])
        changed = sorted(self.changed.values(), key=lambda p: p.pk)
        _participants_write(changed)
        from challenges import freezes  # issue 18: freezes earned, used or earned back by these deposits

        freezes.freezes_sync(changed, today=self.today, specs=self.specs, deposits={
            p.pk: [(c.local_date, c.amount) for c in self.contributions[p.pk]] for p in changed})
        for challenge_id in sorted(self.challenge_saved):
            Challenge.objects.filter(pk=challenge_id).update(
                total_saved=F("total_saved") + self.challenge_saved[challenge_id])
        if self.challenge_saved:
            readcache.challenges_forget()
        teams = sorted({p.team_id for p in changed if p.team_id})
        if teams:
            Team.objects.bulk_update([self.teams[t] for t in teams], ["total_saved"])
        updates = [effects.board_update(p, p.user.display_name) for p in changed]
        for team_id in teams:
            member = next(p for p in changed if p.team_id == team_id)
            team_goal_record_and_notify(self.teams[team_id], member.challenge, self.rules, self.today, updates)
        outbox = self._confirmations() + [(user, "top5_entered", context) for user, context in self.top5]
        # The badges' deposit figures, kept per member: the batch costs the same at any ledger size.
        metrics = member_metrics_add(deposits=[(tx.user_id, _local_date(tx, self.zone), tx.amount) for tx in self.txs],
                                     zone=self.zone)
        badges_evaluate_many(subjects=[(self.users[uid], list(ps.values())) for uid, ps in self.badge_subjects.items()],
                             zone=self.zone, outbox=outbox, events=self.events, metrics=metrics)
        effects.notify_batch(outbox)
        effects.events(self.events)
        effects.after_commit_board(updates)
        for challenge_id, totals in self.team_totals.items():
            effects.after_commit_teams(challenge_id, totals)

    def _confirmations(self) -> list[tuple]:
        """deposit_confirmed for each deposit, with the member's rank before and after it."""
        queries = [q for _u, _c, before, after in self.messages for q in (before, after) if q is not None]
        ranks = iter(_ranks(queries))
        items = []
        for user, context, before, after in self.messages:
            if after is not None:
                rank_before, rank_after = next(ranks), next(ranks)
                change = (rank_before or rank_after) - rank_after
                context.update(rank=rank_after,
                               rank_change=f"+{change}" if change > 0 else (str(change) if change < 0 else "="))
            items.append((user, "deposit_confirmed", context))
        return items


@dataclass(slots=True)
class _Counted:
    """A deposit counted toward a participation (a Contribution row) as a batch holds it in memory."""

    participant_id: int
    transaction_id: int
    amount: Decimal
    local_date: date
    points_awarded: int = 0
    pk: int | None = None


_AWARD_FIELDS = ["user", "participant", "transaction", "reason", "points", "amount", "multiplier", "detail"]
_AWARD_POINTS = _AWARD_FIELDS.index("points")


def _award(participant: Participant, reason: str, points: int, *, transaction_id: int | None = None,
           amount: Decimal | None = None, multiplier: Decimal = Decimal("1"), detail: str = "") -> tuple:
    """A PointAward row as a tuple in _AWARD_FIELDS order (written in bulk by _insert_rows)."""
    return (participant.user_id, participant.pk, transaction_id, reason, points, amount, multiplier, detail[:200])


def _participants_write(participants: list[Participant]) -> None:
    """Write the scored fields of many participations in one statement (savegame/bulk.py says why)."""
    update_rows(Participant, [("id", "bigint"), ("points", "bigint"), ("total_contributed", "numeric"),
                              ("progress", "jsonb"), ("version", "integer"), ("baseline", "numeric"), ("status", "text"),
                              ("completed_at", "timestamptz")],
                [(p.pk, p.points, p.total_contributed, p.progress, p.version, p.baseline, p.status, p.completed_at)
                 for p in participants])


_redis_failed_at = [0.0]
REDIS_BACKOFF_SECONDS = 30.0


def _redis_usable() -> bool:
    """Scoring runs inside a transaction holding row locks: after a Redis failure it stops asking
    Redis for a while instead of waiting on timeouts deposit after deposit."""
    import time as _time

    return _time.monotonic() - _redis_failed_at[0] >= REDIS_BACKOFF_SECONDS


def _redis_failed(what: str) -> None:
    import time as _time

    _redis_failed_at[0] = _time.monotonic()
    logger.warning("leaderboard unavailable: %s", what, extra={"schema": connection.schema_name})


def _rank_query(participant: Participant) -> leaderboard.RankQuery:
    """A snapshot of the participant's standing now (points and total), to rank later."""
    return leaderboard.RankQuery(participant.challenge_id, participant.user_id, participant.points,
                                 participant.total_contributed, participant.pk)


def _ranks(queries: list[leaderboard.RankQuery]) -> list[int]:
    """Ranks in the leaderboard's tie order: from the live Redis board in one round trip (cheap at any
    size), else counted in PostgreSQL."""
    from redis.exceptions import RedisError

    ranks: list[int | None] = [None] * len(queries)
    if queries and _redis_usable():
        try:
            ranks = leaderboard.ranks_for(queries)
        except RedisError:
            _redis_failed("rank counted in PostgreSQL")
    return [rank if rank is not None else _rank_counted(q) for q, rank in zip(queries, ranks, strict=True)]


def _rank_counted(q: leaderboard.RankQuery) -> int:
    ahead = Q(points__gt=q.points) | Q(points=q.points, total_contributed__gt=q.total_saved) | Q(
        points=q.points, total_contributed=q.total_saved, pk__lt=q.participant_id)
    return 1 + (Participant.objects.filter(challenge_id=q.challenge_id).filter(ahead)
                .exclude(pk=q.participant_id).count())


def _boards_top(challenge_ids: set[int]) -> dict[int, list]:
    """The boards' top 5 before this batch (for top5_entered); empty while Redis is away."""
    if not challenge_ids or not _redis_usable():
        return {}
    try:
        return leaderboard.boards_top_members(sorted(challenge_ids), 5)
    except Exception:
        _redis_failed("skipping the top-5 check")
        return {}


def _top5_after(participant: Participant, top: list) -> tuple[list, int | None]:
    """The top 5 with this participant's new score, and their new position (1-5) if this deposit
    lifted them into it (judged against the live board as it stood, plus this batch's changes)."""
    suffix = f":{participant.user_id}"
    was_in = any(member.endswith(suffix) for member, _ in top)
    mine = leaderboard.member_encode(total_saved=participant.total_contributed, participant_id=participant.pk,
                                     user_id=participant.user_id)
    ranked = sorted([*(item for item in top if not item[0].endswith(suffix)), (mine, participant.points)],
                    key=lambda item: (item[1], item[0]), reverse=True)
    position = ranked.index((mine, participant.points))
    return ranked[:5], (position + 1 if position < 5 and not was_in else None)


def _deposit_message(tx, user, primary: Participant | None, targets: list, earned: int) -> dict:
    """Context of the deposit_confirmed message: amount, challenge progress and points (the rank
    change is added once the batch's ranks are read). A deposit that counts toward no challenge gets
    a plain confirmation (the progress sentence is left out by the renderer because its fields are empty)."""
    from django.utils import translation
    from django.utils.translation import gettext

    context = {"amount": f"{tx.amount:,.2f}", "points": earned, "transaction_id": tx.pk,
               "receipt": tx.mpesa_receipt or tx.transaction_id or "", "idempotency_key": f"deposit:{tx.pk}",
               "challenge": "", "progress": "", "rank": "", "rank_change": ""}
    if primary is None:
        with translation.override(user.language or organization_current().language or "en"):
            context["challenge"] = gettext("your savings")
        return context
    try:
        ratio = Decimal(str((primary.progress or {}).get("ratio", "0")))
    except InvalidOperation:
        ratio = Decimal("0")
    context.update(challenge=", ".join(p.challenge.name for p in targets),
                   progress=int(min(ratio, Decimal("1")) * 100))
    return context


def _referrer_reward(tx, user, rules: scoring.Rules) -> None:
    """+referral_bonus to the referrer when a referred member's first deposit is verified (outside any
    challenge; the depositor's own points are unchanged)."""
    if not user.referred_by_id or not rules.referral_bonus:
        return
    first = ledger.reader().first_deposit_id(user_id=user.pk)
    if first != tx.pk or PointAward.objects.filter(reason=PointAward.Reason.REFERRAL, transaction=tx).exists():
        return
    PointAward.objects.create(user_id=user.referred_by_id, transaction=tx, reason=PointAward.Reason.REFERRAL,
                              points=rules.referral_bonus, detail=f"Referred {user.display_name}")
    readcache.points_forget(user_ids=[user.referred_by_id])
    badges_evaluate(user=user.referred_by)  # the referrer may now earn "connector"
