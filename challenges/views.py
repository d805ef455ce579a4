"""Member pages (challenges, leaderboard with live updates, badges) and the leaders' challenge pages."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from challenges import selectors, services
from challenges.forms import ChallengeForm
from challenges.models import Challenge, Participant, Team

BOARD_LIMIT = 20  # rows a page's board shows (and asks the API for when it polls)


def _board_urls(challenge: Challenge, team_id: int | None = None) -> dict:
    """Where a page's live board polls (the leaderboard API) and streams from (the live process), with ?team=
    for a team's own board."""
    team = f"&team={team_id}" if team_id else ""
    stream = reverse("challenge-leaderboard-stream", args=[challenge.pk]) + (f"?team={team_id}" if team_id else "")
    return {"board_api": f"/api/v1/challenges/{challenge.pk}/leaderboard?limit={BOARD_LIMIT}{team}",
            "board_stream": stream}


def _challenge_or_404(request, pk) -> Challenge:
    challenge = selectors.access_challenge(user=request.user, challenge_id=pk)
    if challenge is None:
        raise Http404
    return challenge


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(f"{msg}" for msgs in exc.message_dict.values() for msg in msgs)
    return " ".join(exc.messages)


@login_required
def challenge_list(request):
    challenges = list(selectors.challenge_list_for(user=request.user).exclude(status=Challenge.Status.DRAFT))
    mine = {p.challenge_id: p for p in Participant.objects.filter(user=request.user)}
    today = services.local_today()
    rows = [{"challenge": c, "participant": mine.get(c.pk),
             "standing": selectors.participant_standing(participant=mine[c.pk], challenge=c, today=today)
             if c.pk in mine else ("upcoming" if c.start_date > today else "")} for c in challenges]
    live = [r for r in rows if r["challenge"].status == Challenge.Status.ACTIVE]
    return render(request, "challenges/challenge_list.html", {
        "active": [r for r in live if r["challenge"].start_date <= today],
        "upcoming": sorted((r for r in live if r["challenge"].start_date > today), key=lambda r: r["challenge"].start_date),
        "past": [r for r in rows if r["challenge"].status != Challenge.Status.ACTIVE],
    })


@login_required
def challenge_detail(request, pk):
    challenge = _challenge_or_404(request, pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "join":
                services.participant_join(challenge=challenge, user=request.user)
                messages.success(request, _("You joined %(name)s.") % {"name": challenge.name})
            elif action == "team-create":
                services.team_create(challenge=challenge, user=request.user, name=request.POST.get("name", ""))
            elif action == "team-join":
                team = Team.objects.filter(pk=request.POST.get("team") or 0, challenge=challenge).first()
                if team is None:
                    raise ValidationError({"team": _("That team no longer exists.")})
                services.team_join(team=team, user=request.user)
            elif action == "team-auto":
                services.team_auto_assign(challenge=challenge, user=request.user)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        return redirect("challenge-detail", pk=challenge.pk)
    participant = selectors.participant_of(challenge=challenge, user=request.user)
    today = services.local_today()
    standing = (selectors.participant_standing(participant=participant, challenge=challenge, today=today)
                if participant else ("upcoming" if challenge.start_date > today else ""))
    my_team_id = participant.team_id if participant else None
    teams = (selectors.team_board(challenge=challenge, my_team_id=my_team_id)
             if challenge.type == Challenge.Type.GROUP else None)
    # inside my team: its own live board (the leaderboard stream's ?team=)
    team_board = (selectors.leaderboard_read(challenge_id=challenge.pk, user=request.user, limit=BOARD_LIMIT,
                                             team_id=my_team_id) if teams and my_team_id else None)
    return render(request, "challenges/challenge_detail.html", {
        "challenge": challenge, "participant": participant, "rules": selectors.rules_in_words(
            challenge=challenge, rules=services.rules_for()), "teams": teams, "team_board": team_board,
        **(_board_urls(challenge, my_team_id) if team_board else {}),
        "progress": participant.progress if participant else {}, "standing": standing,
        "upcoming": challenge.status == Challenge.Status.ACTIVE and challenge.start_date > today,
    })


@login_required
def challenge_leaderboard(request, pk):
    challenge = _challenge_or_404(request, pk)
    board = selectors.leaderboard_read(challenge_id=challenge.pk, user=request.user, limit=BOARD_LIMIT)
    return render(request, "challenges/leaderboard.html", {"challenge": challenge, "board": board,
                                                           **_board_urls(challenge)})


def leaderboard_stream(request, pk):
    """The stream path is served by the `live` process (live/app.py); the proxy routes it there. Reaching
    the web tier means it is not running or not routed: 503, and the page polls meanwhile."""
    response = HttpResponse(_("Live updates are unavailable."), status=503, content_type="text/plain")
    response["Retry-After"] = str(settings.LIVE_RETRY_AFTER_SECONDS)
    return response


@login_required
def badges(request):
    return render(request, "challenges/badges.html", {"achievements": selectors.member_achievements(member=request.user)})


# --- leaders ------------------------------------------------------------------------------------------------
def _org_admin(request):
    if not request.user.is_authenticated:
        return False
    if request.user.role != "org_admin":
        raise PermissionDenied
    return True


@login_required
def manage_challenges(request):
    _org_admin(request)
    if request.method == "POST":
        raw = request.POST.get("challenge") or ""
        challenge = Challenge.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
        status = {"publish": "active", "cancel": "cancelled"}.get(request.POST.get("action"))
        if challenge and request.POST.get("action") == "restore":
            try:
                services.challenge_restore(challenge=challenge, actor=request.user)
                messages.success(request, _("%(name)s is back: its members can save towards it again.")
                                 % {"name": challenge.name})
            except ValidationError as exc:
                messages.error(request, _error_text(exc))
        elif challenge and status:
            try:
                services.challenge_update(challenge=challenge, actor=request.user, data={"status": status})
                messages.success(request, _("%(name)s is now %(status)s.") % {
                    "name": challenge.name, "status": Challenge.Status(status).label})
            except ValidationError as exc:
                messages.error(request, _error_text(exc))
        return redirect("manage-challenges")
    challenges = list(Challenge.objects.exclude(type=Challenge.Type.GOAL).order_by("-start_date", "name"))  # issue 18
    now = timezone.now()
    for c in challenges:  # a cancel can be undone for RESTORE_HOURS (issue 16 item 12)
        until = c.cancelled_at + timedelta(hours=services.RESTORE_HOURS) if c.cancelled_at else None
        c.restore_until = until if c.status == Challenge.Status.CANCELLED and until and until > now else None
    return render(request, "challenges/manage_list.html", {"challenges": challenges})


@login_required
def manage_challenge_edit(request, pk=None):
    _org_admin(request)
    challenge = Challenge.objects.filter(pk=pk).first() if pk else None
    if pk and challenge is None:
        raise Http404
    preview = None
    if request.method == "POST":
        form = ChallengeForm(request.POST)
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in ("name", "description", "type", "start_date", "duration_days")}
            data["target"] = form.target()
            try:
                if request.POST.get("action") == "preview":
                    target = services.challenge_target_validate(type=data["type"], target=data["target"])
                    draft = Challenge(**{**data, "target": target})
                    draft.end_date = draft.start_date + timedelta(days=draft.duration_days - 1)
                    preview = {"challenge": draft, "rules": selectors.rules_in_words(
                        challenge=draft, rules=services.rules_for())}
                elif challenge is None:
                    created = services.challenge_create(actor=request.user, **data)
                    messages.success(request, _("Saved as a draft. Publish it when ready."))
                    return redirect("manage-challenge-edit", pk=created.pk)
                else:
                    if challenge.status != Challenge.Status.DRAFT:
                        data = {k: data[k] for k in ("name", "description")}
                    services.challenge_update(challenge=challenge, actor=request.user, data=data)
                    messages.success(request, _("Saved."))
                    return redirect("manage-challenge-edit", pk=challenge.pk)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields and field != "target" else None,
                                   " ".join(errors))
    else:
        form = ChallengeForm(initial=ChallengeForm.initial_from(challenge) if challenge else None)
    return render(request, "challenges/manage_edit.html", {
        "form": form, "challenge": challenge, "preview": preview, "type_fields": json.dumps(ChallengeForm.TYPE_FIELDS),
        "rules": selectors.rules_in_words(challenge=challenge, rules=services.rules_for()) if challenge else [],
    })
