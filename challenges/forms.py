"""The leaders' challenge form: one set of target fields per type, each explained."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from challenges.models import Challenge
from savegame.queryparams import choice_param


class ChallengeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120,
                           help_text=_("What members see, e.g. \"Save 500 every week\"."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text=_("Optional: why this challenge, prizes, anything members should know."))
    type = forms.ChoiceField(label=_("Type"), choices=Challenge.Type.choices,
                             help_text=_("Fixed amount: save a set amount every period. Percentage: save more than "
                                         "last month. Streak: save in consecutive weeks or days. Group: teams save "
                                         "toward a shared goal."))
    start_date = forms.DateField(label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text=_("The first day deposits count (in the organization's time zone)."))
    duration_days = forms.IntegerField(label=_("Duration (days)"), min_value=1, max_value=366, initial=28,
                                       help_text=_("How many days it runs, including the start date."))
    # fixed_amount
    amount = forms.DecimalField(label=_("Amount per period (KES)"), required=False, min_value=1, decimal_places=2,
                                help_text=_("A period is met when the member's deposits in it add up to this."))
    frequency = forms.ChoiceField(label=_("Period"), required=False, choices=[
        ("weekly", _("Weekly (Monday to Sunday)")), ("daily", _("Daily")), ("monthly", _("Monthly (calendar month)"))],
        help_text=_("How often members must save the amount."))
    # percentage
    increase = forms.DecimalField(label=_("Increase over last month (%)"), required=False, min_value=1,
                                  decimal_places=2,
                                  help_text=_("Members must save this much more than in the calendar month before "
                                              "the start date."))
    # percentage + streak
    min_amount = forms.DecimalField(label=_("Minimum amount (KES)"), required=False, min_value=1, decimal_places=2,
                                    help_text=_("Percentage: the goal for members who saved nothing last month. "
                                                "Streak: the smallest deposit that keeps a streak going."))
    # streak
    streak_unit = forms.ChoiceField(label=_("Streak counted in"), required=False,
                                    choices=[("consecutive_weeks", _("Weeks")), ("consecutive_days", _("Days"))])
    streak_length = forms.IntegerField(label=_("Streak length"), required=False, min_value=1,
                                       help_text=_("How many weeks (or days) in a row a member must save."))
    # group
    team_amount = forms.DecimalField(label=_("Team goal (KES)"), required=False, min_value=1, decimal_places=2,
                                     help_text=_("What a team must save together."))
    min_members = forms.IntegerField(label=_("Minimum team size"), required=False, min_value=1,
                                     help_text=_("A team completes only with at least this many members."))

    TYPE_FIELDS = {
        "fixed_amount": ["amount", "frequency"],
        "percentage": ["increase", "min_amount"],
        "streak": ["streak_unit", "streak_length", "min_amount"],
        "group": ["team_amount", "min_members"],
    }

    def target(self) -> dict:
        data, kind = self.cleaned_data, self.cleaned_data.get("type")
        if kind == "fixed_amount":
            return {k: v for k, v in {"amount": data.get("amount"), "frequency": data.get("frequency")}.items()
                    if v not in (None, "")}
        if kind == "percentage":
            target = {"increase": data.get("increase"), "baseline": "last_month"}
            if data.get("min_amount"):
                target["min_amount"] = data["min_amount"]
            return {k: v for k, v in target.items() if v is not None}
        if kind == "streak":
            target = {data.get("streak_unit") or "consecutive_weeks": data.get("streak_length")}
            if data.get("min_amount"):
                target["min_amount"] = data["min_amount"]
            return {k: v for k, v in target.items() if v is not None}
        return {k: v for k, v in {"team_amount": data.get("team_amount"),
                                  "min_members": data.get("min_members")}.items() if v is not None}

    @classmethod
    def initial_from(cls, challenge: Challenge) -> dict:
        initial = {"name": challenge.name, "description": challenge.description, "type": challenge.type,
                   "start_date": challenge.start_date, "duration_days": challenge.duration_days}
        target = challenge.target or {}
        initial.update({k: v for k, v in target.items() if k in cls.base_fields})
        for unit in ("consecutive_weeks", "consecutive_days"):
            if unit in target:
                initial.update(streak_unit=unit, streak_length=target[unit])
        return initial


class ChallengeListParams(forms.Form):
    """`GET /api/v1/challenges?status=` (savegame/queryparams.py)."""

    status = choice_param(Challenge.Status.choices)
