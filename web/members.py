"""The leaders' members page (/manage/members/): who is in the group and how each one is saving.

It sits in `web`, on top of the apps it composes: the people from accounts, their money from
payments.selectors, their weekly streak from the game's selectors (web/selectors.members_with_money).
Adding a member posts here too, so a refused form comes back on the same page; role changes,
removal, restore and the CSV import stay with accounts.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import org_admin_required
from accounts.forms import MemberAddForm, MemberImportForm
from accounts.selectors import member_counts
from accounts.services import user_create
from savegame.clientip import client_ip
from savegame.queryparams import choice_param, query_params_checked, query_params_clean, text_param
from web.selectors import MEMBER_SHOWS, MEMBER_SORTS, members_with_money

SHOW_LABELS = {"not_saved_this_month": gettext_lazy("Has not saved this month"),
               "saved_this_month": gettext_lazy("Saved this month"),
               "on_streak": gettext_lazy("On a weekly streak"),
               "removed": gettext_lazy("Removed members")}
SORT_LABELS = {"name": gettext_lazy("Name"), "-saved": gettext_lazy("Saved: most first"),
               "saved": gettext_lazy("Saved: least first"), "-last_deposit": gettext_lazy("Last deposit: newest first"),
               "last_deposit": gettext_lazy("Last deposit: oldest first"),
               "-streak": gettext_lazy("Streak: longest first"), "streak": gettext_lazy("Streak: shortest first")}
PER_PAGE = 50


class MemberListParams(forms.Form):
    """The members page's query (savegame/queryparams.py: junk is a 400 naming it)."""

    q = text_param(max_length=100)
    show = choice_param([(s, SHOW_LABELS[s]) for s in MEMBER_SHOWS])
    sort = choice_param([(s, SORT_LABELS[s]) for s in MEMBER_SORTS])
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000)


def _render(request, params: dict, *, add_form=None, status: int = 200):
    from urllib.parse import urlencode

    search = (params.get("q") or "").strip()
    rows = members_with_money(search=search, show=params.get("show") or "", sort=params.get("sort") or "")
    page = Paginator(rows, PER_PAGE).get_page(params.get("page") or 1)
    kept = {k: v for k, v in (("q", search), ("show", params.get("show")), ("sort", params.get("sort"))) if v}
    return render(request, "web/manage_members.html", {
        "page": page, "search": search, "show": params.get("show") or "", "sort": params.get("sort") or "name",
        "shows": SHOW_LABELS.items(), "sorts": SORT_LABELS.items(), "counts": member_counts(),
        "filtered": bool(search or params.get("show")),
        "add_form": add_form or MemberAddForm(), "import_form": MemberImportForm(),
        "pager_query": urlencode(kept) + "&" if kept else "",
    }, status=status)


@org_admin_required
@query_params_checked
def manage_members(request):
    return _render(request, query_params_clean(params=request.GET, form_class=MemberListParams))


@org_admin_required
@require_POST
def manage_member_add(request):
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            member = user_create(**form.cleaned_data, actor=request.user, ip_address=client_ip(request), welcome=True)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("%(name)s was added. Their account code is %(code)s.")
                             % {"name": member.display_name, "code": member.account_code})
            return redirect("manage-members")
    return _render(request, {}, add_form=form, status=400)
