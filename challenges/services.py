"""Writes for the gamification engine: challenges, participation, teams, scoring, badges, lifecycle.

The single entry point payments calls is `deposit_score(transaction_id=...)`. Rules live in
challenges/scoring.py (pure); this module loads rows, applies the engine, and writes the results,
award rows, notifications and leaderboard updates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from challenges import effects, leaderboard, ledger, readcache, scoring
from challenges.badges import BadgeDef, catalogue, criteria_evaluate
from challenges.metrics import MetricsLoader
from challenges.models import (
    BadgeAward,
    Challenge,
    Contribution,
    LeaderboardEntry,
    Participant,
    PointAward,
    ScoredDeposit,
    Team,
)
from savegame.bulk import insert_rows, update_rows
from savegame.metrics import BADGES_AWARDED, count_on_commit, deposits_scored_observe, org_label
from tenants.calendar import day_bounds, local_today, organization_zone

logger = logging.getLogger(__name__)

MAX_DURATION_DAYS = 366
CHALLENGE_EDITABLE_FIELDS = ["name", "description", "type", "target", "duration_days", "start_date"]


# --- organization context --------------------------------------------------------------------------
def _organization():
    from tenants.models import Organization

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization) and tenant.schema_name == connection.schema_name:
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)


def rules_for(organization=None) -> scoring.Rules:
    organization = organization or _organization()
    return scoring.Rules.from_lookup(organization.scoring_rule)


def spec_of(challenge: Challenge) -> scoring.ChallengeSpec:
    end = challenge.end_date or challenge.start_date + timedelta(days=challenge.duration_days - 1)
    return scoring.ChallengeSpec(challenge.type, challenge.target, challenge.start_date, end)


# --- challenge definitions ----------------------------------------------------------------------------
def _positive_decimal(target: dict, name: str, errors: dict, *, required: bool = True, allow_zero: bool = False):
    if name not in target or target[name] in (None, ""):
        if required:
            errors[name] = "This field is required."
        return None
    try:
        value = Decimal(str(target[name]))
    except (InvalidOperation, ValueError):
        errors[name] = "Must be a number."
        return None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        errors[name] = "Must be greater than zero."
        return None
    if value != value.quantize(Decimal("0.01")) or value >= Decimal("1e10"):
        errors[name] = "Use at most 2 decimal places and less than 10,000,000,000."
        return None
    return value


def _positive_int(target: dict, name: str, errors: dict, *, required: bool = True, maximum: int = 10_000):
    if name not in target or target[name] in (None, ""):
        if required:
            errors[name] = "This field is required."
        return None
    value = target[name]
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        errors[name] = "Must be a whole number."
        return None
    value = int(value)
    if not 1 <= value <= maximum:
        errors[name] = f"Must be between 1 and {maximum}."
        return None
    return value


def challenge_target_validate(*, type: str, target) -> dict:
    """Validate and normalise a target for its type. Raises ValidationError({"target": {field: msg}})."""
    if type not in Challenge.Type.values:
        raise ValidationError({"type": f"Must be one of {', '.join(Challenge.Type.values)}."})
    if not isinstance(target, dict):
        raise ValidationError({"target": "Must be an object."})
    errors: dict[str, str] = {}
    out: dict = {}
    if type == "fixed_amount":
        allowed = {"amount", "frequency"}
        amount = _positive_decimal(target, "amount", errors)
        frequency = target.get("frequency")
        if frequency not in scoring.FREQUENCY_UNITS:
            errors["frequency"] = "Must be one of daily, weekly, monthly."
        if not errors:
            out = {"amount": f"{amount:.2f}", "frequency": frequency}
    elif type == "percentage":
        allowed = {"increase", "baseline", "min_amount"}
        increase = _positive_decimal(target, "increase", errors)
        if increase is not None and increase > 1000:
            errors["increase"] = "Must be at most 1000 (%)."
        if target.get("baseline", "last_month") != "last_month":
            errors["baseline"] = "Only \"last_month\" is supported."
        min_amount = _positive_decimal(target, "min_amount", errors, required=False)
        if not errors:
            out = {"increase": str(increase), "baseline": "last_month"}
            if min_amount is not None:
                out["min_amount"] = f"{min_amount:.2f}"
    elif type == "streak":
        allowed = {"consecutive_weeks", "consecutive_days", "min_amount"}
        has_weeks, has_days = "consecutive_weeks" in target, "consecutive_days" in target
        if has_weeks == has_days:
            errors["consecutive_weeks"] = "Give exactly one of consecutive_weeks or consecutive_days."
        else:
            name = "consecutive_weeks" if has_weeks else "consecutive_days"
            count = _positive_int(target, name, errors, maximum=53 if has_weeks else 366)
            min_amount = _positive_decimal(target, "min_amount", errors, required=False)
            if not errors:
                out = {name: count}
                if min_amount is not None:
                    out["min_amount"] = f"{min_amount:.2f}"
    else:
        allowed = {"team_amount", "min_members"}
        team_amount = _positive_decimal(target, "team_amount", errors)
        min_members = _positive_int(target, "min_members", errors, maximum=1000)
        if not errors:
            out = {"team_amount": f"{team_amount:.2f}", "min_members": min_members}
    for unknown in sorted(set(target) - allowed):
        errors.setdefault(unknown, f"Unknown field for a {type} challenge.")
    if errors:
        raise ValidationError({"target": [f"{name}: {message}" for name, message in errors.items()]})
    return out


def _challenge_validate(challenge: Challenge) -> None:
    challenge.target = challenge_target_validate(type=challenge.type, target=challenge.target)
    if not 1 <= int(challenge.duration_days or 0) <= MAX_DURATION_DAYS:
        raise ValidationError({"duration_days": f"Must be between 1 and {MAX_DURATION_DAYS} days."})
    if not (challenge.name or "").strip():
        raise ValidationError({"name": "This field is required."})
    if challenge.type == "streak":
        needed = challenge.target.get("consecutive_weeks") or challenge.target.get("consecutive_days")
        end = challenge.start_date + timedelta(days=int(challenge.duration_days) - 1)
        if needed > scoring.total_periods(scoring.ChallengeSpec(challenge.type, challenge.target, challenge.start_date, end)):
            unit = "weeks" if "consecutive_weeks" in challenge.target else "days"
            raise ValidationError({"target": [f"consecutive_{unit}: The challenge is too short for {needed} {unit}."]})


@transaction.atomic
def challenge_create(*, actor, name: str, type: str, target: dict, duration_days: int, start_date: date,
                     description: str = "", status: str = Challenge.Status.DRAFT) -> Challenge:
    if status not in (Challenge.Status.DRAFT, Challenge.Status.ACTIVE):
        raise ValidationError({"status": "A new challenge is either draft or active."})
    challenge = Challenge(name=(name or "").strip(), description=description or "", type=type, target=target,
                          duration_days=duration_days, start_date=start_date, status=status, created_by=actor)
    _challenge_validate(challenge)
    challenge.end_date = challenge.start_date + timedelta(days=challenge.duration_days - 1)
    if status == Challenge.Status.ACTIVE and challenge.end_date < local_today():
        raise ValidationError({"start_date": "This challenge would already be over; pick a later start date."})
    for _attempt in range(5):
        try:
            with transaction.atomic():
                challenge.save()
            break
        except Exception:
            if Challenge.objects.filter(code=challenge.code).exists():
                challenge.code = Challenge._meta.get_field("code").default()
                continue
            raise
    effects.audit(actor, "challenge.created", challenge, after={"name": challenge.name, "type": type, "status": status})
    readcache.challenges_forget()
    return challenge


TRANSITIONS = {
    "draft": {"active", "cancelled"},
    "active": {"cancelled", "completed"},
    "completed": set(),
    "cancelled": set(),
}


@transaction.atomic
def challenge_update(*, challenge: Challenge, actor, data: dict) -> Challenge:
    """Edit a challenge. Type, target, dates and duration change only while it is a draft.
    `status` moves it along draft -> active -> completed / cancelled (PATCH {"status": "active"} publishes)."""
    challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
    before = {"status": challenge.status, "name": challenge.name}
    structural = {"type", "target", "duration_days", "start_date"} & set(data)
    if structural and challenge.status != Challenge.Status.DRAFT:
        changed = [f for f in structural if data[f] != getattr(challenge, f)]
        if changed:
            raise ValidationError({changed[0]: "Only a draft challenge's type, target or dates can change."})
    for field in CHALLENGE_EDITABLE_FIELDS:
        if field in data:
            setattr(challenge, field, data[field])
    if structural:
        _challenge_validate(challenge)
    challenge.end_date = challenge.start_date + timedelta(days=challenge.duration_days - 1)
    new_status = data.get("status", challenge.status)
    if new_status != challenge.status:
        if new_status not in TRANSITIONS.get(challenge.status, set()):
            raise ValidationError({"status": f"A {challenge.status} challenge cannot become {new_status}."})
        if new_status == Challenge.Status.ACTIVE and challenge.end_date < local_today():
            raise ValidationError({"start_date": "This challenge would already be over; pick a later start date."})
        if new_status == Challenge.Status.COMPLETED:
            challenge.save()
            challenge_settle(challenge=challenge, force=True)
            challenge.refresh_from_db()
        challenge.status = new_status
    challenge.full_clean(exclude=["code", "target"])
    challenge.save()
    effects.audit(actor, "challenge.updated", challenge, before=before, after={"status": challenge.status, "name": challenge.name})
    from challenges.selectors import challenge_status_forget

    challenge_status_forget(challenge_id=challenge.pk)
    readcache.challenges_forget()
    return challenge


@transaction.atomic
def challenge_delete(*, challenge: Challenge, actor) -> None:
    if challenge.status != Challenge.Status.DRAFT:
        raise ValidationError({"status": "Only a draft can be deleted; cancel an active challenge instead."})
    effects.audit(actor, "challenge.deleted", challenge, before={"name": challenge.name})
    challenge.delete()
    readcache.challenges_forget()


# --- participation ---------------------------------------------------------------------------------------
def member_deposits_between(*, user_id: int, first: date, last: date, zone: ZoneInfo) -> Decimal:
    """A member's deposits that still count on the local days first..last (payments' rule)."""
    start, end = day_bounds(first, last, zone)
    return ledger.reader().deposits_total_between(user_id=user_id, start=start, end=end)


def _baseline(challenge: Challenge, user_id: int, zone: ZoneInfo) -> Decimal:
    first, last = scoring.previous_month(challenge.start_date)
    return member_deposits_between(user_id=user_id, first=first, last=last, zone=zone)


def participant_join(*, challenge: Challenge, user) -> tuple[Participant, bool]:
    """Join a challenge (idempotent). Returns (participant, created)."""
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().get(pk=challenge.pk)
        existing = Participant.objects.filter(challenge=challenge, user=user).first()
        if existing:
            return existing, False
        if challenge.status != Challenge.Status.ACTIVE:
            raise ValidationError({"challenge": "This challenge is not open for joining."})
        zone = organization_zone()
        today = local_today(zone)
        if challenge.end_date < today:
            raise ValidationError({"challenge": "This challenge has ended."})
        participant = Participant(challenge=challenge, user=user, version=1)
        if challenge.type == Challenge.Type.PERCENTAGE:
            participant.baseline = _baseline(challenge, user.pk, zone)
        outcome = scoring.progress_compute(spec_of(challenge), [], today=today,
                                           baseline=participant.baseline or Decimal("0"))
        participant.progress = outcome.progress
        participant.save()
        Challenge.objects.filter(pk=challenge.pk).update(participants_count=F("participants_count") + 1)
        readcache.challenges_forget()
        readcache.joined_forget(user_id=user.pk)
        effects.event("challenge_joined", user, {"challenge": challenge.pk, "type": challenge.type})
        effects.after_commit_board([effects.board_update(participant, user.display_name)])
    return participant, True


def _team_goal_record_and_notify(team: Team, challenge: Challenge, rules: scoring.Rules, today: date,
                                 updates: list) -> None:
    """When a team reaches its amount: record it (goal_reached_at) and notify once; complete its
    members once it also has enough of them."""
    goal = Decimal(str(challenge.target["team_amount"]))
    min_members = int(challenge.target["min_members"])
    if team.total_saved < goal:
        return
    if team.goal_reached_at is None:
        if Team.objects.filter(pk=team.pk, goal_reached_at__isnull=True).update(goal_reached_at=timezone.now()):
            team.goal_reached_at = timezone.now()
            for member in Participant.objects.filter(team=team).select_related("user"):
                effects.notify(member.user, "team_goal_reached",
                        {"challenge": challenge.name, "team": team.name, "team_total": str(team.total_saved),
                         "members": team.members_count, "min_members": min_members})
    if team.members_count < min_members:
        return
    for member in Participant.objects.select_for_update().filter(team=team).exclude(
            status=Participant.Status.COMPLETED).select_related("user").order_by("pk"):
        _participant_complete(member, challenge, rules, updates)
        outcome = scoring.progress_group(spec_of(challenge), [], today, team.total_saved, team.members_count)
        member.progress = {**outcome.progress, "saved": str(member.total_contributed)}
        member.save(update_fields=["progress"])


def _participant_complete(participant: Participant, challenge: Challenge, rules: scoring.Rules, updates: list) -> None:
    """Mark completed and pay the completion bonus (once per completion: the status check below, on a
    locked row). A reversal that un-completes a running challenge takes the bonus back
    (challenges/reversals.py), so completing again pays it again."""
    if participant.status == Participant.Status.COMPLETED:
        return
    participant.status = Participant.Status.COMPLETED
    participant.completed_at = timezone.now()
    bonus = rules.consistency_bonus
    if bonus:
        PointAward.objects.create(user_id=participant.user_id, participant=participant,
                                  reason=PointAward.Reason.COMPLETION, points=bonus,
                                  detail=f"Completed {challenge.name}")
        readcache.points_forget(user_ids=[participant.user_id])
        participant.points += bonus
    participant.version += 1
    participant.save(update_fields=["status", "completed_at", "points", "version"])
    updates.append(effects.board_update(participant))


def _team_members_changed(team: Team, delta: int) -> Team:
    Team.objects.filter(pk=team.pk).update(members_count=F("members_count") + delta)
    team.refresh_from_db()
    return team


def team_create(*, challenge: Challenge, user, name: str, join: bool = True) -> Team:
    if challenge.type != Challenge.Type.GROUP:
        raise ValidationError({"challenge": "Teams exist only in group challenges."})
    if challenge.status != Challenge.Status.ACTIVE:
        raise ValidationError({"challenge": "This challenge is not open."})
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationError({"name": "Give the team a name of 1-80 characters."})
    with transaction.atomic():
        if Team.objects.filter(challenge=challenge, name__iexact=name).exists():
            raise ValidationError({"name": "A team with this name already exists in this challenge."})
        participant = None
        if join:
            participant = Participant.objects.filter(challenge=challenge, user=user).first()
            if participant is None:
                participant, _ = participant_join(challenge=challenge, user=user)
            if participant.team_id:
                raise ValidationError({"team": "You are already in a team in this challenge."})
        team = Team.objects.create(challenge=challenge, name=name, created_by=user)
        if participant is not None:
            team_join(team=team, user=user)
            team.refresh_from_db()
    return team


def team_join(*, team: Team, user) -> Participant:
    """Put a member in a team (joining the challenge first if needed). A team is kept for the whole challenge;
    the member's deposits so far come along into the team total."""
    with transaction.atomic():
        team = Team.objects.select_for_update().select_related("challenge").get(pk=team.pk)
        challenge = team.challenge
        participant = Participant.objects.filter(challenge=challenge, user=user).first()
        if participant is None:
            participant, _ = participant_join(challenge=challenge, user=user)
        participant = Participant.objects.select_for_update().get(pk=participant.pk)
        if participant.team_id == team.pk:
            return participant
        if participant.team_id:
            raise ValidationError({"team": "You are already in a team in this challenge."})
        participant.team = team
        participant.version += 1
        participant.save(update_fields=["team", "version"])
        Team.objects.filter(pk=team.pk).update(total_saved=F("total_saved") + participant.total_contributed)
        team = _team_members_changed(team, +1)
        updates = [effects.board_update(participant, user.display_name)]
        rules, today = rules_for(), local_today()
        _team_goal_record_and_notify(team, challenge, rules, today, updates)
        participant.refresh_from_db()
        outcome = scoring.progress_group(spec_of(challenge), [], today, team.total_saved, team.members_count)
        participant.progress = {**outcome.progress, "saved": str(participant.total_contributed)}
        participant.save(update_fields=["progress"])
        effects.after_commit_board(updates)
        effects.after_commit_teams(challenge.pk, {team.pk: team.total_saved})
        badges_evaluate(user=user, participants=[participant])  # e.g. "team player" without waiting for a deposit
    return participant


def team_auto_assign(*, challenge: Challenge, user=None) -> list[Participant]:
    """Put `user` (or, for an admin, every participant without a team) into the smallest teams.
    A team is created when there is none yet."""
    if challenge.type != Challenge.Type.GROUP:
        raise ValidationError({"challenge": "Teams exist only in group challenges."})
    with transaction.atomic():
        if user is not None:
            waiting = [user]
        else:
            waiting = [p.user for p in Participant.objects.filter(challenge=challenge, team__isnull=True)
                       .select_related("user").order_by("joined_at", "pk")]
        assigned = []
        for member in waiting:
            team = Team.objects.filter(challenge=challenge).order_by("members_count", "created_at", "pk").first()
            if team is None:
                team = Team.objects.create(challenge=challenge, name="Team 1")
            assigned.append(team_join(team=team, user=member))
    return assigned


# --- scoring -------------------------------------------------------------------------------------------------
def _local_date(tx, zone: ZoneInfo) -> date:
    when = tx.transacted_at or tx.verified_at or tx.created_at or timezone.now()
    return timezone.localtime(when, zone).date()


SCORING_BATCH = 500  # deposits per transaction when a backlog is scored (docs/BENCHMARKS.md)


def deposit_score(*, transaction_id: int) -> None:
    """Score one verified deposit: progress, points, streaks, teams, leaderboards, badges.

    The single entry point payments calls after a deposit is verified (after commit, from a task).
    Idempotent: the ledger row is locked and marked scored in the same transaction, so scoring
    it again (or concurrently) changes nothing. A deposit tagged with a challenge counts only
    there; an untagged one counts toward every active challenge the member has joined whose
    dates contain the deposit's local date.
    """
    deposits_score(transaction_ids=[transaction_id])


def deposits_score(*, transaction_ids: Iterable[int]) -> int:
    """Score several verified deposits in one transaction: the batch form of `deposit_score`, with
    the same result as scoring each one in id order, but a fixed number of queries and Redis round
    trips per batch instead of per deposit. Deposits already scored (or not verified) are skipped.
    Returns how many were scored now."""
    ids = sorted({int(i) for i in transaction_ids})
    if not ids:
        return 0
    with transaction.atomic():
        txs = ledger.reader().deposits_locked(transaction_ids=ids)
        fresh = _mark_scored([tx.pk for tx in txs])
        txs = [tx for tx in txs if tx.pk in fresh]
        if txs:
            _ScoringBatch(txs).score()
            deposits_scored_observe(verified_at=[tx.verified_at for tx in txs])
    return len(txs)


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
        organization = _organization()
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
        self.messages.append((tx.user, _deposit_message(tx, tx.user, primary, targets, earned), before,
                              _rank_query(primary) if primary is not None else None))
        # The one deposit_verified event (payments records none): written with the score, once.
        self.events.append(("deposit_verified", tx.user, {
            "transaction_id": tx.pk, "challenge_id": tx.challenge_id, "amount": f"{tx.amount:.2f}",
            "source": tx.source, "challenges": [p.challenge_id for p in targets], "points": earned}))
        subjects = self.badge_subjects.setdefault(tx.user_id, {})
        subjects.update({p.pk: p for p in targets})

    def _apply(self, participant: Participant, tx, day: date) -> int:
        challenge, rules = participant.challenge, self.rules
        spec = self._spec(challenge)
        existing = self.contributions[participant.pk]
        contribution = _Counted(participant.pk, tx.pk, tx.amount, day)
        contributions = [*existing, contribution]
        deposits = [(c.local_date, c.amount) for c in contributions]
        awards = []
        for c, (deserved, multiplier) in zip(contributions, scoring.deposit_points(spec, rules, deposits), strict=True):
            is_new = c is contribution
            if is_new or deserved > c.points_awarded:
                awards.append(_award(
                    participant, PointAward.Reason.DEPOSIT if is_new else PointAward.Reason.STREAK_TOPUP,
                    max(deserved - c.points_awarded, 0), transaction_id=c.transaction_id, amount=c.amount,
                    multiplier=multiplier,
                    detail=(f"{c.amount} KES x {rules.points_per_kes} x {multiplier}" if is_new
                            else f"streak multiplier applied after an earlier deposit arrived late ({c.local_date})"),
                ))
                c.points_awarded = max(deserved, c.points_awarded)
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
            participant.baseline = _baseline(challenge, participant.user_id, self.zone)
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
        bonus = self.rules.consistency_bonus  # once per completion, as in _participant_complete
        if not bonus:
            return 0
        self.awards.append(_award(participant, PointAward.Reason.COMPLETION, bonus, detail=f"Completed {challenge.name}"))
        participant.points += bonus
        return bonus

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
            _team_goal_record_and_notify(self.teams[team_id], member.challenge, self.rules, self.today, updates)
        outbox = self._confirmations() + [(user, "top5_entered", context) for user, context in self.top5]
        badges_evaluate_many(subjects=[(self.users[uid], list(ps.values())) for uid, ps in self.badge_subjects.items()],
                             zone=self.zone, outbox=outbox, events=self.events)
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
        with translation.override(user.language or _organization().language or "en"):
            context["challenge"] = gettext("your savings")
        return context
    try:
        ratio = Decimal(str((primary.progress or {}).get("ratio", "0")))
    except InvalidOperation:
        ratio = Decimal("0")
    context.update(challenge=", ".join(p.challenge.name for p in targets),
                   progress=int(min(ratio, Decimal("1")) * 100))
    return context


def _ended_message(challenge: Challenge, participant: Participant, earned: list) -> dict:
    """Context of challenge_ended: the result in the member's language, final rank, badges won."""
    from django.utils import translation

    language = participant.user.language or _organization().language or "en"
    with translation.override(language):
        result = str(Participant.Status(participant.status).label)
        badges = ", ".join(b.localized_name(language) for b in earned)
    return {"challenge": challenge.name, "result": result, "rank": participant.final_rank or "", "badges": badges,
            "points": participant.points, "status": participant.status,
            "total_saved": f"{participant.total_contributed:.2f}"}


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


# --- recompute ------------------------------------------------------------------------------------------------
def participant_expected(*, participant: Participant, rules: scoring.Rules, today: date) -> dict:
    """What a participation's score should be, from its deposits alone (no award rows read)."""
    challenge = participant.challenge
    spec = spec_of(challenge)
    deposits = list(participant.contributions.order_by("local_date", "pk").values_list("local_date", "amount"))
    deposit_points = sum(points for points, _ in scoring.deposit_points(spec, rules, deposits))
    team_total = team_members = None
    if participant.team_id:
        team = participant.team
        team_total = Contribution.objects.filter(participant__team=team).aggregate(t=Sum("amount"))["t"] or Decimal("0")
        team_members = team.members_count
    outcome = scoring.progress_compute(spec, deposits, today=today, baseline=participant.baseline or Decimal("0"),
                                       team_total=team_total, team_members=team_members or 0)
    completed = outcome.completed or participant.status == Participant.Status.COMPLETED
    points = deposit_points
    points += rules.early_bird_bonus if scoring.early_bird_earned(spec, rules, deposits) else 0
    points += rules.consistency_bonus if completed else 0
    return {"points": points, "total_contributed": sum((a for _, a in deposits), Decimal("0.00")),
            "progress": outcome.progress, "completed": completed}


def scores_recompute(*, fix: bool = False, challenge_id: int | None = None) -> list[dict]:
    """Recompute every participation from its deposits and compare with the stored score and award rows.

    Returns one row per drift. With fix=True, stored totals are corrected and the leaderboard rebuilt
    (award rows are history and are never rewritten; a drift between rows and totals is reported).
    `reversal` rows (negative) count like any other row. A reversed deposit still counted (its
    claw-back never ran) is reported; with fix=True it is clawed back first (challenges/reversals.py).
    """
    from challenges.reversals import deposit_reversal_apply, reversed_still_counted

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
    return drifts


# --- badges -------------------------------------------------------------------------------------------------------
def badges_evaluate(*, user, participants: list[Participant] = ()) -> list[BadgeDef]:
    """Award every badge whose criteria the member now meets (once per member, or once per challenge)."""
    return badges_evaluate_many(subjects=[(user, list(participants))]).get(user.pk, [])


def badges_evaluate_many(*, subjects: list[tuple], zone: ZoneInfo | None = None, outbox: list | None = None,
                         events: list | None = None) -> dict[int, list[BadgeDef]]:
    """`badges_evaluate` for many members at once: (user, participations to judge per-challenge badges on)
    pairs in, {user id: badges earned now} out, with a fixed number of queries for the whole batch.
    The badge_earned messages and events are queued now, or appended to `outbox` / `events` for a
    caller that writes its own in one go."""
    badges = catalogue()
    if not badges or not subjects:
        return {}
    user_ids = [user.pk for user, _ in subjects]
    earned = set(BadgeAward.objects.filter(user_id__in=user_ids).values_list("user_id", "badge_key", "challenge_id"))
    loader = MetricsLoader(user_ids, zone or organization_zone())
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


def deposits_unscored_sweep(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> int:
    """Beat: score verified deposits that were never scored (a lost task). Idempotent, oldest first."""
    cutoff = timezone.now() - older_than
    scored = ScoredDeposit.objects.values("transaction_id")
    pending = ledger.reader().deposit_ids_verified_before(cutoff=cutoff, exclude=scored, limit=limit)
    for start in range(0, len(pending), SCORING_BATCH):
        deposits_score(transaction_ids=pending[start:start + SCORING_BATCH])
    return len(pending)


# --- lifecycle (beat) -----------------------------------------------------------------------------------------
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
                _participant_complete(p, challenge, rules, updates)
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
                                         challenge__type__in=["fixed_amount", "streak"])
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


def can_no_longer_complete(participant: Participant, today: date) -> bool:
    """Whether this participation can no longer reach its target (too few windows left) and has not."""
    deposits = list(participant.contributions.values_list("local_date", "amount"))
    outcome = scoring.progress_compute(spec_of(participant.challenge), deposits, today=today,
                                       baseline=participant.baseline or Decimal("0"))
    return outcome.failed and not outcome.completed


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
        carried = scoring.streak_carried_into(spec, qualifying, today)
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


# --- scoring rules (edited by org admins through the organization settings) -------------------------------
SCORING_LIMITS = {
    "points_per_kes": (Decimal("0"), Decimal("100")), "streak_multiplier": (Decimal("1"), Decimal("10")),
    "streak_threshold_days": (0, 366), "streak_threshold_weeks": (0, 53), "early_bird_bonus": (0, 100_000),
    "early_bird_days": (0, 31), "consistency_bonus": (0, 100_000), "referral_bonus": (0, 100_000),
}


def scoring_rules_validate(*, data) -> dict:
    """Validate an organization's scoring rules (a partial update is merged over the defaults).

    For whoever saves `Organization.scoring` (organization settings API and page). Raises
    ValidationError({"scoring": ["<key>: <reason>", ...]}).
    """
    from tenants.models import default_scoring

    if not isinstance(data, dict):
        raise ValidationError({"scoring": ["Must be an object."]})
    errors, clean = [], {}
    for key, value in data.items():
        if key not in SCORING_LIMITS:
            errors.append(f"{key}: unknown rule (known: {', '.join(default_scoring())}).")
            continue
        low, high = SCORING_LIMITS[key]
        try:
            number = Decimal(str(value)) if isinstance(low, Decimal) else int(str(value))
        except (InvalidOperation, ValueError):
            errors.append(f"{key}: must be a {'number' if isinstance(low, Decimal) else 'whole number'}.")
            continue
        if isinstance(value, bool) or not (low <= number <= high):
            errors.append(f"{key}: must be between {low} and {high}.")
            continue
        clean[key] = float(number) if isinstance(low, Decimal) else number
    if errors:
        raise ValidationError({"scoring": errors})
    return clean
