"""Reads for the gamification engine. `access_*` helpers give the same answer (None -> 404) whether
an object is missing or the caller may not see it."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from challenges import leaderboard, ledger, readcache, scoring
from challenges.badges import catalogue, criteria_explain
from challenges.models import BadgeAward, Challenge, Participant, PointAward, ScoredDeposit, Team


def _is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.role == "org_admin")


def challenge_list_for(*, user) -> QuerySet[Challenge]:
    qs = Challenge.objects.exclude(type=Challenge.Type.GOAL)  # issue 18: personal goals have no public page
    if not _is_admin(user):
        qs = qs.exclude(status=Challenge.Status.DRAFT)
    return qs.order_by("-start_date", "name", "pk")


CACHED_LIST_MAX = 500  # an organization with more challenges pages them from the database


def challenge_list_cached(*, user, status: str = "") -> list[Challenge] | QuerySet[Challenge]:
    """challenge_list_for, kept in the tenant's cache until a challenge changes (readcache): the list
    every member's app opens with. Filtered by `status` in Python; a longer list stays a queryset."""
    return challenge_list_and_joined(user=user, status=status)[0]


def challenge_list_and_joined(*, user, status: str = "") -> tuple[list[Challenge] | QuerySet[Challenge], set[int]]:
    """challenge_list_cached and joined_challenge_ids, read from the cache in one round trip."""
    admin = _is_admin(user)

    def rows():
        got = list(challenge_list_for(user=user)[:CACHED_LIST_MAX + 1])
        return got if len(got) <= CACHED_LIST_MAX else None

    computes = {readcache.list_key(admin=admin): (readcache.LIST_TTL, rows)}
    if user and user.is_authenticated:
        computes[readcache.joined_key(user.pk)] = (readcache.POINTS_TTL, lambda: _joined_ids(user))
    got = readcache.cached_many(computes)
    joined = got.get(readcache.joined_key(user.pk), set()) if user and user.is_authenticated else set()
    every = got[readcache.list_key(admin=admin)]
    return _status_filtered(every, user=user, status=status), joined


def _status_filtered(every, *, user, status: str):
    if every is None:
        qs = challenge_list_for(user=user)
        return qs.filter(status=status) if status else qs
    return [c for c in every if c.status == status] if status else every


def access_challenge(*, user, challenge_id) -> Challenge | None:
    try:
        return challenge_list_for(user=user).filter(pk=int(challenge_id)).first()
    except (TypeError, ValueError):
        return None


_STATUS_TTL = 5.0
_status_cache: dict[tuple[str, int], tuple[float, str | None]] = {}


def challenge_status_cached(*, challenge_id: int) -> str | None:
    """A challenge's status (None if missing), cached in-process for a few seconds: the hot leaderboard read
    needs only this to decide visibility, so it skips a database query on most requests."""
    import time

    from django.db import connection

    key = (connection.schema_name, int(challenge_id))
    hit = _status_cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < _STATUS_TTL:
        return hit[1]
    status = (Challenge.objects.filter(pk=challenge_id).exclude(type=Challenge.Type.GOAL)  # issue 18: no board
              .values_list("status", flat=True).first())
    if len(_status_cache) > 10_000:
        _status_cache.clear()
    _status_cache[key] = (now, status)
    return status


def challenge_status_forget(*, challenge_id: int) -> None:
    from django.db import connection

    _status_cache.pop((connection.schema_name, int(challenge_id)), None)


def challenge_participant_user_ids(*, challenge_id: int) -> list[int]:
    """Ids of the members who joined a challenge (every participant status), for notifications'
    broadcast to a challenge's participants. Inactive accounts are left out."""
    return list(Participant.objects.filter(challenge_id=challenge_id, user__is_active=True)
                .order_by("user_id").values_list("user_id", flat=True).distinct())


def participation_outcomes(*, challenge_id: int | None = None) -> dict[str, int]:
    """Participations by status, and the distinct members they belong to, for analytics' completion
    and participation figures (the game's statuses are the one truth about outcomes). Cancelled
    challenges and personal goals (issue 18: counted as goal uptake, challenges.goals.goal_uptake)
    are left out. One query: {"members", "participants", "active", "completed", "failed"}."""
    qs = Participant.objects.exclude(challenge__status=Challenge.Status.CANCELLED).exclude(
        challenge__type=Challenge.Type.GOAL)
    if challenge_id is not None:
        qs = qs.filter(challenge_id=challenge_id)
    return qs.order_by().aggregate(
        members=Count("user_id", distinct=True), participants=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in Participant.Status.values},
    )


def broadcast_challenges() -> list[dict]:
    """The challenges a leader's broadcast can address: active and draft ones, {"id", "name"}."""
    return list(Challenge.objects.filter(status__in=["active", "draft"]).exclude(type=Challenge.Type.GOAL)  # issue 18
                .values("id", "name"))


def joined_challenge_ids(*, user) -> set[int]:
    """The challenges this member joined, kept in the tenant's cache until they join another
    (participations are never deleted: only drafts are, and nobody joins a draft)."""
    if not user or not user.is_authenticated:
        return set()
    return readcache.cached(readcache.joined_key(user.pk), readcache.POINTS_TTL, lambda: _joined_ids(user))


def _joined_ids(user) -> set[int]:
    return set(Participant.objects.filter(user=user).values_list("challenge_id", flat=True))


def winnable_challenges(*, user) -> QuerySet[Challenge]:
    """Challenges a deposit made today can still count towards for this member: joined, running
    (started, not ended) and not already failed or completed for them. Save now offers only these."""
    from tenants.calendar import local_today

    if not user or not user.is_authenticated:
        return Challenge.objects.none()
    today = local_today()
    return (Challenge.objects.filter(status=Challenge.Status.ACTIVE, start_date__lte=today, end_date__gte=today,
                                     participants__user=user, participants__status=Participant.Status.ACTIVE)
            .order_by("end_date", "name"))


# A member's own standing in a challenge, which leads every card they see.
STANDINGS = ("upcoming", "on_track", "at_risk", "failed", "completed")
AT_RISK_SLACK = Decimal("0.2")  # behind the calendar by more than a fifth of the challenge


def participant_standing(*, participant: Participant, challenge: Challenge, today) -> str:
    """upcoming (not started), completed, failed, at_risk (progress behind the days gone by) or on_track."""
    if participant.status == Participant.Status.COMPLETED:
        return "completed"
    if participant.status == Participant.Status.FAILED:
        return "failed"
    if challenge.start_date > today:
        return "upcoming"
    days = max(1, (challenge.end_date - challenge.start_date).days + 1)
    elapsed = Decimal((today - challenge.start_date).days) / days
    try:
        ratio = Decimal(str((participant.progress or {}).get("ratio", "0")))
    except ArithmeticError:
        ratio = Decimal("0")
    return "at_risk" if ratio < elapsed - AT_RISK_SLACK else "on_track"


def participant_of(*, challenge: Challenge, user) -> Participant | None:
    if not user or not user.is_authenticated:
        return None
    return Participant.objects.select_related("team").filter(challenge=challenge, user=user).first()


def leaderboard_read(*, challenge_id: int, user=None, limit: int = 10, team_id: int | None = None) -> dict:
    board = leaderboard.board_read(challenge_id=challenge_id, limit=limit,
                                   user_id=user.pk if user and user.is_authenticated else None, team_id=team_id)
    return {"results": board.results, "me": board.me, "count": board.total}


def team_list(*, challenge: Challenge) -> list[dict]:
    """The challenge's teams, highest team total first (then the first created): each with its rank on that
    order, teams with the same total sharing one, so the ranks always read down the list; a team that has saved
    nothing yet has no rank (None), like a member with no points on a board (issue 16 item 7)."""
    goal = Decimal(str(challenge.target.get("team_amount", "0")))
    min_members = int(challenge.target.get("min_members", 0) or 0)
    rows, rank, previous = [], 0, None
    for index, team in enumerate(Team.objects.filter(challenge=challenge).order_by("-total_saved", "created_at", "pk")):
        if team.total_saved != previous:
            rank, previous = index + 1, team.total_saved
        rows.append({
            "id": team.pk, "name": team.name, "members_count": team.members_count,
            "total_saved": f"{team.total_saved:.2f}", "team_amount": f"{goal:.2f}", "min_members": min_members,
            "ratio": scoring._ratio(team.total_saved, goal), "goal_reached": team.goal_reached_at is not None,
            "completed": team.total_saved >= goal and team.members_count >= min_members,
            "rank": rank if team.total_saved > 0 else None,
        })
    return rows


def team_board(*, challenge: Challenge, my_team_id: int | None) -> dict:
    """The group challenge's team board for the challenge page: team_list's rows, mine marked, and whether
    any team has saved yet (before the first deposit every team is at 0 and nobody leads: no ranks)."""
    rows = [{**row, "mine": row["id"] == my_team_id} for row in team_list(challenge=challenge)]
    return {"rows": rows, "started": any(row["rank"] for row in rows)}


def member_achievements(*, member) -> dict:
    """Earned and locked badges ("how to earn" each) and the latest point awards, worded in the
    member's own language (also when an org admin reads them), else the active one."""
    from django.utils import translation

    language = translation.get_supported_language_variant(member.language or translation.get_language())
    with translation.override(language):  # cached per language: readcache.points_forget drops them all
        return readcache.cached(readcache.achievements_key(member.pk, language), readcache.POINTS_TTL,
                                lambda: _achievements(member))


def _achievements(member) -> dict:
    awards = {(a.badge_key, a.challenge_id): a for a in BadgeAward.objects.filter(user=member)}
    challenge_names = dict(Challenge.objects.filter(pk__in=[c for _, c in awards if c]).values_list("pk", "name"))
    earned, locked = [], []
    for badge in catalogue(fresh=True):
        mine = [a for (key, _), a in awards.items() if key == badge.key]
        base = {"key": badge.key, "slug": badge.slug, "name": badge.localized_name(), "icon": badge.icon,
                "description": badge.localized_description(), "rarity": badge.rarity,
                "per_challenge": badge.per_challenge}
        if mine:
            for award in sorted(mine, key=lambda a: a.awarded_at):
                earned.append({**base, "awarded_at": award.awarded_at.isoformat(),
                               "challenge": ({"id": award.challenge_id, "name": challenge_names.get(award.challenge_id)}
                                             if award.challenge_id else None)})
            if not badge.per_challenge:
                continue
        if not mine:
            locked.append({**base, "how_to_earn": criteria_explain(badge.criteria)})
    points = member_points(member=member)
    return {"member": {"id": member.pk, "name": member.display_name}, "points": points,
            "earned": earned, "locked": locked, "history": point_history(member=member, limit=HISTORY_LIMIT)}


HISTORY_LIMIT = 20


def point_history(*, member, limit: int = 50) -> list[dict]:
    """The member's latest award rows, newest first: each with its reason's label in the active
    language (a `reversal` row is negative: the points a reversed deposit took back)."""
    rows = (PointAward.objects.filter(user=member).select_related("participant__challenge")
            .order_by("-created_at", "-pk")[:limit])
    return [
        {"reason": a.reason, "reason_label": str(PointAward.Reason(a.reason).label), "points": a.points,
         "detail": a.detail, "challenge": ({"id": a.participant.challenge_id, "name": a.participant.challenge.name}
                                           if a.participant_id else None),
         "created_at": a.created_at.isoformat()}
        for a in rows
    ]


def member_progress(*, member) -> dict:
    participations = (Participant.objects.filter(user=member).select_related("challenge", "team")
                      .order_by("-challenge__start_date", "pk"))
    results = []
    for p in participations:
        progress = dict(p.progress or {})
        if p.team_id:  # the team total moves with teammates' deposits: read it live
            progress["team_total"] = f"{p.team.total_saved:.2f}"
            progress["team_members"] = p.team.members_count
        results.append({
            "challenge": {"id": p.challenge_id, "name": p.challenge.name, "type": p.challenge.type,
                          "status": p.challenge.status, "start_date": p.challenge.start_date.isoformat(),
                          "end_date": p.challenge.end_date.isoformat()},
            "status": p.status, "progress": progress, "points": p.points,
            "total_contributed": f"{p.total_contributed:.2f}", "rank": p.final_rank or p.rank,
            "team": {"id": p.team_id, "name": p.team.name} if p.team_id else None,
            "joined_at": p.joined_at.isoformat(),
        })
    points = member_points(member=member)
    saved = sum((p.total_contributed for p in participations), Decimal("0.00"))
    return {"member": {"id": member.pk, "name": member.display_name}, "points": points,
            "total_contributed": f"{saved:.2f}", "results": results}


def rules_in_words(*, challenge: Challenge, rules: scoring.Rules | None = None) -> list[str]:
    """The challenge's rules in plain words (member page and the leaders' preview)."""
    from django.utils.translation import gettext as _

    from savegame.formatting import amount, day, points

    t = challenge.target or {}
    lines = []
    if challenge.type == "fixed_amount":
        lines.append(_("Save at least KES %(amount)s every %(period)s from %(start)s to %(end)s.") % {
            "amount": amount(t.get("amount")), "period": {"daily": _("day"), "weekly": _("week (Monday to Sunday)"),
                                                  "monthly": _("calendar month")}.get(t.get("frequency"), ""),
            "start": day(challenge.start_date), "end": day(challenge.end_date)})
        lines.append(_("You complete it when every period is met; missing one period means you cannot complete it."))
    elif challenge.type == "percentage":
        lines.append(_("Save %(increase)s%% more than you saved last month (the calendar month before %(start)s).") % {
            "increase": t.get("increase"), "start": day(challenge.start_date)})
        if t.get("min_amount"):
            lines.append(_("If you saved nothing last month, your goal is KES %(amount)s.") % {"amount": amount(t["min_amount"])})
    elif challenge.type == "streak":
        if "consecutive_weeks" in t:
            lines.append(_("Save in %(n)s weeks in a row (weeks run Monday to Sunday).") % {"n": t["consecutive_weeks"]})
        else:
            lines.append(_("Save on %(n)s days in a row.") % {"n": t.get("consecutive_days")})
        if t.get("min_amount"):
            lines.append(_("A deposit counts when it is at least KES %(amount)s.") % {"amount": amount(t["min_amount"])})
        lines.append(_("Missing a window resets your current streak; your best streak is kept."))
        lines += forgiveness_in_words(challenge=challenge, rules=rules)  # issue 18
    elif challenge.type == "group":
        lines.append(_("Join a team. Your team completes the challenge when it saves KES %(amount)s together "
                       "and has at least %(n)s members.") % {"amount": amount(t.get("team_amount")), "n": t.get("min_members")})
    lines.append(_("Deposits tagged with this challenge's code count only here; other deposits count toward every "
                   "active challenge you have joined."))
    if rules is not None:
        lines.append(_("Points: %(ppk)s per KES; x%(mult)s while your streak is going; +%(early)s for a deposit in "
                       "the first %(days)s days; +%(bonus)s when you complete it.") % {
            "ppk": rules.points_per_kes, "mult": rules.streak_multiplier, "early": points(rules.early_bird_bonus),
            "days": rules.early_bird_days, "bonus": points(rules.consistency_bonus)})
    return lines


def forgiveness_in_words(*, challenge: Challenge, rules: scoring.Rules | None = None) -> list[str]:
    """Issue 18: streak freezes and earning a missed window back, in plain words (docs/GAMIFICATION.md)."""
    from django.utils.translation import gettext as _

    from challenges import streaks
    from savegame.formatting import amount

    spec = scoring.ChallengeSpec(challenge.type, challenge.target or {}, challenge.start_date,
                                 challenge.end_date or challenge.start_date)
    day = spec.streak_unit == scoring.DAY
    lines = []
    every = rules.freeze_every if rules is not None else 0
    if every:
        lines.append((_("Save %(n)s days in a row to earn a streak freeze (you can hold 2). A missed day then uses "
                        "one automatically and your streak is kept.") if day else
                      _("Save %(n)s weeks in a row to earn a streak freeze (you can hold 2). A missed week then uses "
                        "one automatically and your streak is kept.")) % {"n": every})
    lines.append(_("Earn it back: once in this challenge, a missed window with no freeze left is repaired by one "
                   "deposit of at least KES %(amount)s within 48 hours after it closed.") % {
        "amount": amount(streaks.window_minimum(spec) * streaks.EARN_BACK_FACTOR)})
    lines.append(_("A frozen or earned-back window keeps your streak going wherever it counts (the N-in-a-row "
                   "target, the points multiplier) but adds nothing to it."))
    return lines


def member_points(*, member) -> int:
    """All points a member has earned: deposits, streak top-ups and every bonus (award rows). Kept in
    the tenant's cache for minutes and forgotten whenever an award row is written (readcache)."""
    return readcache.cached(readcache.points_key(member.pk), readcache.POINTS_TTL,
                            lambda: PointAward.objects.filter(user=member).aggregate(total=Sum("points"))["total"] or 0)


def member_active_challenges(*, member, limit: int = 10) -> list[dict]:
    """The active challenges this member joined (soonest ending first) with their own progress:
    saved, percent done, live rank among the challenge's participants, and the current streak of a
    streak challenge. Ranks come from the live board (PostgreSQL when Redis is away)."""
    from tenants.calendar import local_today

    today = local_today()
    rows = []
    participations = (Participant.objects.filter(user=member, challenge__status=Challenge.Status.ACTIVE)
                      .exclude(challenge__type=Challenge.Type.GOAL)  # issue 18: goals have their own card
                      .select_related("challenge", "team").order_by("challenge__end_date", "challenge_id")[:limit])
    for p in participations:
        challenge, progress = p.challenge, dict(p.progress or {})
        try:
            ratio = Decimal(str(progress.get("ratio", "0")))
        except ArithmeticError:
            ratio = Decimal("0")
        board = leaderboard.board_read(challenge_id=challenge.pk, limit=1, user_id=member.pk)
        saved = p.team.total_saved if p.team_id else p.total_contributed
        streak = None
        if challenge.type == Challenge.Type.STREAK:
            streak = {"current": int(progress.get("current_streak", 0)), "best": int(progress.get("best_streak", 0)),
                      "needed": int(progress.get("needed", 0) or challenge.target.get("consecutive_weeks")
                                    or challenge.target.get("consecutive_days") or 0),
                      "unit": _streak_unit(progress, challenge)}
        rows.append({
            "id": challenge.pk, "name": challenge.name, "type": challenge.type,
            "type_label": challenge.get_type_display(), "end_date": challenge.end_date, "status": p.status,
            "start_date": challenge.start_date,
            "standing": participant_standing(participant=p, challenge=challenge, today=today),
            "saved": saved, "points": p.points, "percent": max(0, min(100, int(ratio * 100))),
            "rank": board.me["rank"] if board.me else None, "participants": board.total, "streak": streak,
        })
    return rows


def member_weekly_streak(*, member, active: list[dict] | None = None) -> int:
    """The member's weekly streak: the one number of it shown outside a challenge's own card (the home
    page's "N weeks streak"), computed here only. While the member plays a weekly streak challenge it
    is that challenge's current streak (the challenge's dates and minimum decide, so home and the
    challenge's "3 of 4" say the same; with several, the longest). Otherwise it is the run of ISO weeks
    with a scored deposit still alive (ending this week or last), from the member metrics row the
    streak badges read. `active`: member_active_challenges' rows, when the caller has them."""
    from challenges.models import MemberMetrics
    from tenants.calendar import local_today

    rows = member_active_challenges(member=member) if active is None else active
    weekly = [c["streak"]["current"] for c in rows
              if c["streak"] and c["streak"]["unit"] == scoring.WEEK and c["standing"] not in ("failed", "completed")]
    if weekly:
        return max(weekly)
    row = MemberMetrics.objects.filter(user=member).first()
    return _weekly_streak(weekly, row.day_runs if row else [], local_today())


def _weekly_streak(in_challenges: list[int], day_runs: list, today) -> int:
    """The one weekly-streak rule: the longest weekly streak challenge's, else the metrics row's run of weeks."""
    from challenges import metrics

    return max(in_challenges) if in_challenges else metrics.runs_current(day_runs, scoring.WEEK, today)


def _streak_unit(progress: dict, challenge: Challenge) -> str:
    return progress.get("unit") or ("day" if challenge.target.get("consecutive_days") else "week")


def members_weekly_streaks(*, user_ids) -> dict[int, int]:
    """member_weekly_streak for many members in two queries, whatever their number (the leaders'
    members page): their running weekly streak challenges, then their metrics rows."""
    from challenges.models import MemberMetrics
    from tenants.calendar import local_today

    ids = list(user_ids)
    in_challenges: dict[int, list[int]] = {}
    for p in (Participant.objects.filter(user_id__in=ids, challenge__status=Challenge.Status.ACTIVE,
                                         challenge__type=Challenge.Type.STREAK)
              .exclude(status__in=(Participant.Status.COMPLETED, Participant.Status.FAILED))
              .select_related("challenge")):
        progress = dict(p.progress or {})
        if _streak_unit(progress, p.challenge) == scoring.WEEK:
            in_challenges.setdefault(p.user_id, []).append(int(progress.get("current_streak", 0)))
    runs = dict(MemberMetrics.objects.filter(user_id__in=ids).values_list("user_id", "day_runs"))
    today = local_today()
    return {u: _weekly_streak(in_challenges.get(u, []), runs.get(u, []), today) for u in ids}


def deposits_unscored(*, before, limit: int) -> list[int]:
    """Verified deposits never scored (no ScoredDeposit row, the game's one hand-over guard), verified
    before `before`, oldest first: what payments' sweep hands over again."""
    return ledger.reader().deposit_ids_verified_before(cutoff=before, exclude=ScoredDeposit.objects.values(
        "transaction_id"), limit=limit)


def member_referrals(*, member) -> dict:
    """What a member's invitations earned: the bonus per friend (this organization's rule), friends who joined
    with their link, friends whose first deposit earned the bonus, and the points so far (issue 16 item 3)."""
    from challenges.services import rules_for

    awards = PointAward.objects.filter(user=member, reason=PointAward.Reason.REFERRAL)
    earned = awards.aggregate(points=Sum("points"))["points"] or 0
    return {"bonus": rules_for().referral_bonus, "joined": member.referrals.count(), "rewarded": awards.count(),
            "points": earned,
            # where sign-up is closed: friends who asked to join with the link, not yet added by a leader
            "waiting": member.join_requests.filter(joined=None).count()}
