"""Member and leader pages owned by the web capability: home, profile, language switch, settings."""

from __future__ import annotations

import logging
import zoneinfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from accounts.decorators import org_admin_required
from accounts.services import user_profile_update
from savegame.clientip import client_ip
from savegame.imagetype import image_mime
from savegame.queryparams import choice_param, query_params_checked, query_params_clean
from web.forms import BrandingFields, ScoringFields
from web.selectors import member_home_summary
from web.services import (
    SCORING_RULES,
    organization_logo_set,
    organization_settings_update,
)

# Offered in the settings form; the API accepts any IANA zone.
COMMON_TIME_ZONES = [
    "Africa/Nairobi", "Africa/Kampala", "Africa/Dar_es_Salaam", "Africa/Kigali", "Africa/Addis_Ababa",
    "Africa/Lagos", "Africa/Accra", "Africa/Johannesburg", "Africa/Cairo", "UTC", "Europe/London",
]
NOTIFICATION_PREFERENCES_TEMPLATE = "notifications/_profile_preferences.html"
logger = logging.getLogger(__name__)


MEMBER_SITE_CHOSEN = "member_site_chosen"  # session: an org admin asked for the member site


class HomeParams(forms.Form):
    site = choice_param([("member", "member")])  # ?site=member: the leader dashboard's "Member site" link


@login_required
@query_params_checked
def home(request):
    """The member home. An org admin whose group is not set up yet lands on /manage/ and its checklist
    instead (issue 16 item 21), until she opens the member site on purpose (?site=member, remembered)."""
    from challenges.goals import member_goals

    if request.user.role == "org_admin":
        if query_params_clean(params=request.GET, form_class=HomeParams)["site"] == "member":
            request.session[MEMBER_SITE_CHOSEN] = True
        elif not request.session.get(MEMBER_SITE_CHOSEN):
            from analytics.selectors import setup_checklist

            if not setup_checklist(organization=request.tenant)["complete"]:
                return redirect("manage-overview")
    summary = member_home_summary(user=request.user, organization=request.tenant)
    return render(request, "web/home.html", {"summary": summary,
                                             "goals": member_goals(member=request.user, include_ended=False),
                                             "challenges_url": reverse("challenge-list"),
                                             "save_url": reverse("save-now"),
                                             "transactions_url": reverse("transaction-list")})


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120, required=False)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Same as my group")), ("en", "English"), ("sw", "Kiswahili")],
        required=False,
        help_text=_("Used on this site and in your SMS messages."),
    )


def _notification_preferences_initial(prefs: dict) -> dict:
    return {k: prefs[k] for k in ("channel", "has_whatsapp", "sms_enabled", "reminders_enabled")}


@login_required
def profile(request):
    from notifications.forms import NotificationPreferencesForm
    from notifications.selectors import notification_preferences_get
    from notifications.services import notification_preferences_update

    preferences = notification_preferences_get(user=request.user)
    form = ProfileForm(initial={"name": request.user.name, "language": request.user.language})
    notification_form = NotificationPreferencesForm(initial=_notification_preferences_initial(preferences))
    if request.method == "POST" and request.POST.get("form") == "notifications":
        notification_form = NotificationPreferencesForm(request.POST)
        if notification_form.is_valid():
            notification_preferences_update(user=request.user, data=notification_form.cleaned_data)
            messages.success(request, _("Your notification choices are saved."))
            return redirect("profile")
    elif request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                user_profile_update(user=request.user, data=form.cleaned_data, ip_address=client_ip(request))
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, _("Your profile is saved."))
                return redirect("profile")
    return render(request, "web/profile.html", {
        "form": form,
        "notification_block": NOTIFICATION_PREFERENCES_TEMPLATE,
        "notification_form": notification_form,
        "notification_preferences": preferences,
        "logout_url": reverse("logout"),
        "transactions_url": reverse("transaction-list"),
        "vapid_public_key": _vapid_public_key(),
        **_invitation(request),
    })


def _invitation(request) -> dict:
    """The member's share link and what inviting earns. With open sign-up the link signs the friend up; without,
    it leads to the page where the friend asks the leaders to add them (issue 16 item 3), who credit the member
    when they do."""
    from challenges.selectors import member_referrals

    open_signup = bool(getattr(request.tenant, "open_signup", False))
    path = reverse("login") if open_signup else reverse("join")
    link = request.build_absolute_uri(f"{path}?ref={request.user.account_code}")
    return {"invite_url": link, "invite_open": open_signup, "referrals": member_referrals(member=request.user)}


def _vapid_public_key() -> str:
    """The one VAPID key: notifications' (WEBPUSH_VAPID_PUBLIC_KEY, else its dev key pair)."""
    from notifications.push import vapid_public_key

    try:
        return vapid_public_key()
    except Exception:  # a broken key must not take the profile page down; push just stays hidden
        logger.exception("VAPID public key unavailable")
        return ""


@require_POST
def language_switch(request):
    """Django's set_language (cookie + redirect), remembered on the member's profile when signed in."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in {"en", "sw"} and request.user.language != language:
        user_profile_update(user=request.user, data={"language": language}, ip_address=client_ip(request))
    return response


@require_GET
@cache_control(max_age=3600)
def logo(request):
    organization = getattr(request, "tenant", None)
    if organization is None or organization.is_public or not organization.logo:
        raise Http404("No logo.")
    try:
        with organization.logo.open("rb") as fh:
            body = fh.read()  # at most 1 MB; a plain response streams fine under ASGI
    except FileNotFoundError:
        raise Http404("No logo.") from None
    content_type = image_mime(body)  # sniffed from the bytes, not the stored name
    if content_type is None:
        raise Http404("No logo.")
    response = HttpResponse(body, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


class SettingsForm(BrandingFields, ScoringFields):
    """The leader's settings page: the shared branding and scoring fields (web.forms), the logo, the region."""

    name = forms.CharField(label=_("Organization name"), max_length=120)
    logo = forms.ImageField(label=_("Logo"), required=False,
                            help_text=_("PNG, JPEG or WebP, at most 1 MB. Square works best."))
    remove_logo = forms.BooleanField(label=_("Remove the current logo"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"),
                                  help_text=_("Daily and weekly challenge periods follow this clock."))
    open_signup = forms.BooleanField(label=_("Open sign-up: anyone with the link can join with their phone"),
                                     required=False)

    def __init__(self, *args, **kwargs):
        current_zone = kwargs.pop("current_zone", "Africa/Nairobi")
        super().__init__(*args, **kwargs)
        zones = list(COMMON_TIME_ZONES)
        if current_zone not in zones and current_zone in zoneinfo.available_timezones():
            zones.insert(0, current_zone)
        self.fields["time_zone"].choices = [(z, z.replace("_", " ")) for z in zones]

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {"name": d["name"], "branding": self.branding_data(), "language": d["language"],
                "time_zone": d["time_zone"], "open_signup": d["open_signup"], "scoring": self.scoring_data()}


def _settings_initial(org) -> dict:
    return {"name": org.name, "time_zone": org.time_zone, "open_signup": org.open_signup,
            **BrandingFields.branding_initial(org), **ScoringFields.scoring_initial(org)}


def _actor_label(request) -> str:
    return f"org_admin:{request.user.phone_number}"


@org_admin_required
def manage_settings(request):
    org = request.tenant
    who = {"actor_label": _actor_label(request), "actor": request.user, "ip_address": client_ip(request)}
    if request.method == "POST":
        form = SettingsForm(request.POST, request.FILES, current_zone=org.time_zone)
        if form.is_valid():
            try:
                if form.cleaned_data.get("logo"):
                    organization_logo_set(organization=org, logo=form.cleaned_data["logo"], **who)
                elif form.cleaned_data.get("remove_logo") and org.logo:
                    organization_logo_set(organization=org, logo=None, **who)
                organization_settings_update(organization=org, data=form.service_data(), **who)
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    name = field.split(".")[-1]
                    form.add_error(name if name in form.fields else None, errs)
            else:
                messages.success(request, _("Settings saved. Members see the changes now."))
                return redirect("manage-settings")
    else:
        form = SettingsForm(initial=_settings_initial(org), current_zone=org.time_zone)
    scoring_fields = [form[key] for key in SCORING_RULES]
    return render(request, "web/manage_settings.html", {
        "form": form,
        "scoring_fields": scoring_fields,
        "mpesa_url": reverse("manage-mpesa"),
        "sms_url": reverse("manage-notifications"),
    })
