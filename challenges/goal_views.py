"""Member pages for personal goals (issue 18): /goals/ (list and new goal) and /goals/<id>/ (one goal)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from challenges import freezes, goals, selectors, services
from challenges.models import PersonalGoal


class GoalForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("What are you saving for?"), max_length=80,
                           widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. School fees")}))
    target_amount = forms.DecimalField(label=gettext_lazy("Target amount (KES)"), min_value=1, max_digits=12,
                                       decimal_places=2)
    target_date = forms.DateField(label=gettext_lazy("By when (optional)"), required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    frequency = forms.ChoiceField(label=gettext_lazy("How often will you save?"),
                                  choices=PersonalGoal.Frequency.choices, initial="weekly")
    shared = forms.BooleanField(label=gettext_lazy("Share my goal's name with my group's leaders"), required=False)


def _add_errors(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, " ".join(errors))


@login_required
def goal_list(request):
    form = GoalForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            goal = goals.goal_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Your goal is set. Every deposit now counts toward it."))
            return redirect("goal-detail", pk=goal.pk)
    return render(request, "challenges/goals.html", {"form": form, "goals": goals.member_goals(member=request.user)})


@login_required
def goal_detail(request, pk):
    goal = goals.goal_of(user=request.user, goal_id=pk)
    if goal is None:
        raise Http404
    if request.method == "POST":
        action = request.POST.get("action")
        data = {"share": {"shared": True}, "unshare": {"shared": False},
                "stop": {"status": "cancelled"}}.get(action)
        if data is not None:
            try:
                goals.goal_update(goal=goal, user=request.user, data=data)
                messages.success(request, _("Saved."))
            except ValidationError as exc:
                messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect("goal-detail", pk=goal.pk)
    participant = selectors.participant_of(challenge=goal.challenge, user=request.user)
    summary = goals.goal_summary(goal, participant, services.local_today())
    rules = services.rules_for()
    return render(request, "challenges/goal_detail.html", {
        "goal": summary, "progress": (participant.progress if participant else {}) or {},
        "rules": selectors.forgiveness_in_words(challenge=goal.challenge, rules=rules),
        "counts_for_points": rules.goals_count,
        "history": [row for row in freezes.freeze_history(member=request.user)
                    if row["challenge"]["id"] == goal.challenge_id][:10],
    })
