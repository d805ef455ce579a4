"""Leader-dashboard pages (/manage/), CSV exports and printable member statements."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.decorators import org_admin_required
from analytics import charts, selectors, sources
from savegame.csvexport import csv_response
from savegame.queryparams import query_params_checked, query_params_clean

REPORTS = ["overview", "savings-trends", "completion", "streaks", "retention", "conversion"]


class FilterForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    challenge = forms.ModelChoiceField(
        label=gettext_lazy("Challenge"), queryset=None, required=False, empty_label=gettext_lazy("All challenges")
    )
    granularity = forms.ChoiceField(
        label=gettext_lazy("Group by"),
        required=False,
        initial="week",
        choices=[("day", gettext_lazy("Day")), ("week", gettext_lazy("Week")), ("month", gettext_lazy("Month"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["challenge"].queryset = sources.challenges().exclude(status="draft").order_by("-start_date")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("'From' must be on or before 'To'."))
        if data.get("start") and data.get("end") and (data["end"] - data["start"]).days > 366 * 3:
            raise forms.ValidationError(_("The range is limited to three years."))
        return data

    def params(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        challenge = data.get("challenge")
        return {
            "first": data.get("start"),
            "last": data.get("end"),
            "challenge_id": challenge.pk if challenge else None,
            "granularity": data.get("granularity") or "week",
        }


def _pct(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def _completion_chart(completion: dict):
    return charts.stacked_bar(
        [
            (_("Completed"), completion["completed"], "#15803d"),
            (_("Failed"), completion["failed"], "#b91c1c"),
            (_("Active"), completion["participants"] - completion["completed"] - completion["failed"], "#94a3b8"),
        ],
        title=_("Challenge outcomes"),
    )


@org_admin_required
def manage_overview(request):
    figures = selectors.manage_overview(weeks=12)
    overview, trends, completion = figures["overview"], figures["trends"], figures["completion"]
    return render(
        request,
        "analytics/manage_overview.html",
        {
            "setup": selectors.setup_checklist(organization=request.tenant, members=overview["members"]),
            "overview": overview,
            "trends": trends,
            "completion": completion,
            "participation_pct": _pct(overview["participation_rate"]),
            "completion_pct": _pct(overview["completion_rate"]),
            "trend_chart": charts.bar_chart(
                [(p["period"][5:], p["amount"]) for p in trends["series"]],
                title=_("KES saved per week, last 12 weeks"),
                description=_("Bar chart; the same figures are in the table below it."),
            ),
            "savers_chart": charts.bar_chart(
                [(p["period"][5:], p["savers"]) for p in trends["series"]],
                title=_("Active savers per week, last 12 weeks"),
                description=_("Bar chart; the same figures are in the table below it."),
            ),
            "completion_chart": _completion_chart(completion),
        },
    )


def _goal_uptake() -> dict:
    """Issue 18: personal-goal uptake, from the game's own reader (never a goal's name unless shared)."""
    from challenges.goals import goal_uptake

    return goal_uptake()


@org_admin_required
def manage_analytics(request):
    form = FilterForm(request.GET or None)
    p = form.params()
    trends = selectors.analytics_savings_trends(
        first=p["first"], last=p["last"], challenge_id=p["challenge_id"], granularity=p["granularity"]
    )
    engagement = selectors.analytics_engagement(first=p["first"], last=p["last"], challenge_id=p["challenge_id"])
    max_weeks = max((len(c["retention"]) for c in engagement["retention_cohorts"]), default=0)
    cohorts = [
        {
            **c,
            "cells": [
                {"rate": r["rate"], "pct": _pct(r["rate"]), "savers": r["savers"], "bg": charts.heat(r["rate"])}
                for r in c["retention"]
            ]
            + [None] * (max_weeks - len(c["retention"])),
        }
        for c in engagement["retention_cohorts"]
    ]
    query = request.GET.urlencode()
    return render(
        request,
        "analytics/manage_analytics.html",
        {
            "form": form,
            "trends": trends,
            "engagement": engagement,
            "cohorts": cohorts,
            "goal_uptake": _goal_uptake(),  # issue 18
            "weeks": range(max_weeks),
            "query": query,
            "reports": REPORTS,
            "trend_chart": charts.bar_chart(
                [(p_["period"][5:], p_["amount"]) for p_ in trends["series"]],
                title={
                    "day": _("KES saved per day"),
                    "week": _("KES saved per week"),
                    "month": _("KES saved per month"),
                }[trends["granularity"]],
                description=_("Bar chart; the same figures are in the table beside it."),
            ),
            "streak_chart": charts.bar_chart(
                [(b["weeks"], b["members"]) for b in engagement["streaks"]],
                title=_("Members by current weekly saving streak"),
                description=_("Bar chart; the same figures are in the table beside it."),
            ),
            "completion_chart": _completion_chart(engagement["completion"]),
            "conversion_pct": _pct(engagement["notifications"]["conversion_rate"]),
            "completion_pct": _pct(engagement["completion"]["completion_rate"]),
            "failure_pct": _pct(engagement["completion"]["failure_rate"]),
        },
    )


def _csv_rows(report: str, p: dict) -> tuple[list[str], list[list]]:
    if report == "overview":
        data = selectors.analytics_overview(challenge_id=p["challenge_id"])
        return ["metric", "value"], [[k, "" if v is None else v] for k, v in data.items()]
    if report == "savings-trends":
        data = selectors.analytics_savings_trends(
            first=p["first"], last=p["last"], challenge_id=p["challenge_id"], granularity=p["granularity"]
        )
        cols = ["period", "deposits_count", "amount", "savers", "average_deposit"]
        return cols, [[row[c] for c in cols] for row in data["series"]]
    data = selectors.analytics_engagement(first=p["first"], last=p["last"], challenge_id=p["challenge_id"])
    if report == "completion":
        c = data["completion"]
        return ["outcome", "value"], [[k, v] for k, v in c.items()]
    if report == "streaks":
        return ["current_streak_weeks", "members"], [[b["weeks"], b["members"]] for b in data["streaks"]]
    if report == "retention":
        return ["cohort_week", "members", "weeks_after_joining", "savers", "rate"], [
            [c["cohort"], c["members"], r["week"], r["savers"], r["rate"]]
            for c in data["retention_cohorts"]
            for r in c["retention"]
        ]
    n = data["notifications"]
    return ["notifications_opened", "converted_within_24h", "conversion_rate"], [
        [n["opened"], n["converted"], n["conversion_rate"]]
    ]


@org_admin_required
def manage_analytics_export(request, report: str):
    if report not in REPORTS:
        raise Http404
    form = FilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return HttpResponse(
            "; ".join(m for errs in form.errors.values() for m in errs),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    header, rows = _csv_rows(report, form.params())
    slug = getattr(getattr(connection, "tenant", None), "slug", "org")
    response, writer = csv_response(filename=f"{slug}-{report}-{date.today():%Y%m%d}.csv")
    writer.writerow(header)
    writer.writerows(rows)
    return response


class MonthForm(forms.Form):
    month = forms.RegexField(
        label=gettext_lazy("Month"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        widget=forms.TextInput(attrs={"type": "month"}),
    )

    def clean_month(self):
        value = self.cleaned_data.get("month")
        if value and not 2000 <= int(value[:4]) <= 2100:  # past 9999-12 the month after does not exist
            raise forms.ValidationError(_("Choose a month between 2000 and 2100."))
        return value


def _month_chosen(request, tz) -> tuple[int, int, date]:
    """(year, month, today): ?month=YYYY-MM, else this month; a bad month is a QueryParamError naming it."""
    today = sources.local_today(tz)
    month = query_params_clean(params=request.GET, form_class=MonthForm)["month"]
    if month:
        return int(month[:4]), int(month[5:]), today
    return today.year, today.month, today


@query_params_checked
def _statement(request, user):
    tz = sources.org_timezone()
    year, month, today = _month_chosen(request, tz)
    statement = selectors.member_statement(user=user, year=year, month=month)
    with timezone.override(tz):  # times on the statement are the organization's local times
        return render(
            request,
            "analytics/statement.html",
            {"statement": statement, "today": today, "month_value": f"{year:04d}-{month:02d}"},
        )


@org_admin_required
def manage_member_statement(request, user_id: int):
    return _statement(request, get_object_or_404(sources.members().model, pk=user_id))


@org_admin_required
@query_params_checked
def manage_group_statement(request):
    """The whole group's month for the meeting: every member's deposits and total, printable."""
    tz = sources.org_timezone()
    year, month, today = _month_chosen(request, tz)
    with timezone.override(tz):
        return render(request, "analytics/group_statement.html", {
            "statement": selectors.group_statement(year=year, month=month), "today": today,
            "month_value": f"{year:04d}-{month:02d}"})


def my_statement(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _statement(request, request.user)
