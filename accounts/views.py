"""Pages: phone + SMS code login, logout, and the leader pages for members and the audit log."""

from __future__ import annotations

import logging
import re

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.backends import SESSION_BACKEND
from accounts.decorators import org_admin_required
from accounts.forms import (
    AuditFilterParams,
    CodeStepForm,
    JoinRequestForm,
    MemberImportForm,
    MemberRoleForm,
    PhoneStepForm,
)
from accounts.models import User
from savegame.clientip import client_ip
from savegame.queryparams import query_params_checked, query_params_clean

logger = logging.getLogger(__name__)

SESSION_PHONE = "login_phone"


def _url(name: str, fallback: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _after_login_url(request, user) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    if user.role == User.Role.ORG_ADMIN:
        return _url("manage-overview", "/manage/")
    return _url("home", "/")


def _code_step_url(request) -> str:
    url = reverse("login") + "?step=code"
    if request.POST.get("next") or request.GET.get("next"):
        from urllib.parse import quote

        url += "&next=" + quote(request.POST.get("next") or request.GET.get("next"))
    return url


def login_view(request):
    """Step 1: phone number. Step 2: the 6-digit code from the SMS. Same rules as the API.
    Without Redis, codes can be neither limited nor checked: the page says so (503), never a 500."""
    import redis

    try:
        return _login_view(request)
    except (redis.ConnectionError, redis.TimeoutError):
        logger.error("redis unavailable during a site login", exc_info=True)
        phone = request.session.get(SESSION_PHONE)
        code_step = bool(phone) and ("code" in request.POST or request.GET.get("step") == "code")
        response = render(request, "accounts/login.html", {
            "step": "code" if code_step else "phone", "unavailable": True, "phone": phone,
            "phone_form": PhoneStepForm(request.POST if request.method == "POST" and not code_step else None),
            "code_form": CodeStepForm(), "next": request.POST.get("next") or request.GET.get("next") or "",
        }, status=503)
        response["Retry-After"] = "30"
        return response


REFERRAL_CODE = re.compile(r"^[0-9A-Z]{4,12}$")
SESSION_REFERRAL = "signup_referral"


def _login_view(request):
    if request.GET.get("restart"):
        request.session.pop(SESSION_PHONE, None)
    if "ref" in request.GET:  # a member's share link: remembered until the code step signs a new member up
        ref = request.GET["ref"].strip().upper()
        if not REFERRAL_CODE.match(ref):
            return HttpResponseBadRequest(_("ref: not a member's invitation code."), content_type="text/plain; charset=utf-8")
        request.session[SESSION_REFERRAL] = ref
    if request.user.is_authenticated and request.method == "GET" and not request.GET.get("step"):
        return HttpResponseRedirect(_after_login_url(request, request.user))
    phone = request.session.get(SESSION_PHONE)
    step = "code" if phone and (request.GET.get("step") == "code" or "code" in request.POST) else "phone"
    phone_form, code_form = PhoneStepForm(), CodeStepForm()
    status = 200

    if request.method == "POST" and "code" in request.POST and phone:
        code_form = CodeStepForm(request.POST)
        if code_form.is_valid():
            try:
                user = services.otp_verify(phone_number=phone, code=code_form.cleaned_data["code"].strip(),
                                           organization=request.tenant, ip_address=client_ip(request),
                                           referral_code=request.session.get(SESSION_REFERRAL, ""))
            except services.OtpRateLimited as exc:
                code_form.add_error("code", exc.message)
                status = 429
            except services.OtpInvalid as exc:
                code_form.add_error("code", exc.message)
                status = 400
            else:
                request.session.pop(SESSION_PHONE, None)
                request.session.pop(SESSION_REFERRAL, None)
                auth_login(request, user, backend=SESSION_BACKEND)
                return HttpResponseRedirect(_after_login_url(request, user))
        else:
            status = 400
    elif request.method == "POST":
        step = "phone"
        phone_form = PhoneStepForm(request.POST)
        if phone_form.is_valid():
            phone = phone_form.cleaned_data["phone_number"]
            try:
                services.otp_send(phone_number=phone, organization=request.tenant, ip_address=client_ip(request))
            except services.OtpRateLimited as exc:
                if request.session.get(SESSION_PHONE) == phone:
                    messages.info(request, exc.message)  # a code is already on its way: go and type it
                    return HttpResponseRedirect(_code_step_url(request))
                phone_form.add_error("phone_number", exc.message)
                status = 429
            else:
                request.session[SESSION_PHONE] = phone
                return HttpResponseRedirect(_code_step_url(request))
        else:
            status = 400

    referral = request.session.get(SESSION_REFERRAL, "")
    return render(request, "accounts/login.html", {
        "step": step, "phone_form": phone_form, "code_form": code_form, "phone": phone,
        "next": request.POST.get("next") or request.GET.get("next") or "",
        # a share link opened while sign-up is closed: a number that is no member gets no code, so say where to ask
        "join_url": f"{reverse('join')}?ref={referral}" if referral and not request.tenant.open_signup else "",
    }, status=status)


def join_view(request):
    """Where a member's share link leads when open sign-up is off (issue 16 item 3): the friend leaves a name and
    number; the leaders are told and, once one adds that number, the member who shared the link is credited.
    With open sign-up the link is the login page's own (/login/?ref=)."""
    ref = request.GET.get("ref", "").strip().upper()
    valid = bool(REFERRAL_CODE.match(ref))
    if valid and request.tenant.open_signup:
        return HttpResponseRedirect(f"{reverse('login')}?ref={ref}")
    referrer = services.referrer_by_code(code=ref) if valid else None
    if referrer is None:  # a friend with a cut or made-up link: a page that says what to do, naming `ref`
        return render(request, "accounts/join.html", {"invalid": True}, status=400)
    form, status, sent = JoinRequestForm(), 200, False
    if request.method == "POST":
        form = JoinRequestForm(request.POST)
        if form.is_valid():
            try:
                services.join_request_create(phone_number=form.cleaned_data["phone_number"],
                                             name=form.cleaned_data["name"], referrer=referrer,
                                             ip_address=client_ip(request))
            except services.JoinRateLimited as exc:
                form.add_error(None, exc.message)
                status = 429
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            else:
                sent = True
        else:
            status = 400
    return render(request, "accounts/join.html", {"form": form, "sent": sent}, status=status)


def logout_view(request):
    if request.method == "POST":
        auth_logout(request)
        messages.info(request, _("You are logged out."))
        return redirect("login")
    return render(request, "accounts/logout.html")


# --- leader pages --------------------------------------------------------------------------------

def _pager_query(**params) -> str:
    """The filters to keep on page links, as `k=v&` (or empty)."""
    from urllib.parse import urlencode

    kept = {k: v for k, v in params.items() if v}
    return urlencode(kept) + "&" if kept else ""


def _member_action(request, action, success_message: str):
    """Run one service on a member and come back to the list with what happened."""
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, success_message)
    return redirect("manage-members")


@org_admin_required
@require_POST
def manage_member_role(request, member_id: int):
    member = selectors.access_member(actor=request.user, member_id=member_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose member or org_admin."))
        return redirect("manage-members")
    return _member_action(
        request,
        lambda: services.member_update(member=member, data={"role": form.cleaned_data["role"]}, actor=request.user,
                                       ip_address=client_ip(request)),
        _("%(name)s's role was changed.") % {"name": member.display_name},
    )


def _member_state(request, member_id: int, service, message: str):
    """Remove or restore one member (the service), then back to the list saying so (`message` % name)."""
    member = selectors.access_member(actor=request.user, member_id=member_id)
    return _member_action(
        request, lambda: service(member=member, actor=request.user, ip_address=client_ip(request)),
        message % {"name": member.display_name})


@org_admin_required
@require_POST
def manage_member_remove(request, member_id: int):
    return _member_state(request, member_id, services.member_remove,
                         _("%(name)s was removed. Changed your mind? Restore them under Removed members."))


@org_admin_required
@require_POST
def manage_member_restore(request, member_id: int):
    """Undo a removal: the member signs in and saves again, with their history as it was."""
    return _member_state(request, member_id, services.member_restore, _("%(name)s is back in the group."))


@org_admin_required
def manage_member_import(request):
    report = None
    form = MemberImportForm()
    status = 200
    if request.method == "POST":
        form = MemberImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                text = services.csv_upload_text(upload=form.cleaned_data["file"])
            except ValidationError as exc:
                form.add_error("file", exc.message_dict["file"])
                status = 400
            else:
                report = services.import_report(services.members_import_csv(text=text, actor=request.user,
                                                                            ip_address=client_ip(request)))
        else:
            status = 400
    return render(request, "accounts/manage_member_import.html", {"form": form, "report": report}, status=status)


AUDIT_FILTERS = ("action", "person", "kind", "date_from", "date_to")


@org_admin_required
@query_params_checked
def manage_audit(request):
    """The audit log as sentences ("Wanjiku changed Otieno's role to admin"), filtered by person, kind
    and date (junk in any of them is a 400 naming it)."""
    from accounts.audit import KINDS, audit_sentences

    params = query_params_clean(params=request.GET, form_class=AuditFilterParams)
    filters = {k: params[k] for k in AUDIT_FILTERS}
    filters["action"] = filters["action"].strip()
    page = Paginator(selectors.audit_event_list(**filters), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/manage_audit.html", {
        "page": page, "rows": audit_sentences(page.object_list), "filters": filters,
        "kinds": [(key, label) for key, (label, _prefixes) in KINDS.items()],
        "people": selectors.member_list(include_inactive=True).only("pk", "name", "phone_number")[:500],
        "pager_query": _pager_query(**{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                                       for k, v in filters.items()}),
    })
