"""The organization's branding and scoring rules as typed form fields, declared once: the leader's settings page
(web.pages.SettingsForm) and the platform owner's Organization admin (OrganizationAdminForm, installed into
tenants.admin at start-up) both build on them, and both store the same JSON through
web.services.organization_settings_update (issue 16 item 23)."""

from __future__ import annotations


from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.models import Organization
from web.services import (
    SCORING_RULES,
    logo_validate,
    organization_logo_set,
    organization_settings_clean,
    organization_settings_update,
)

HEX_COLOUR = r"^#[0-9a-fA-F]{6}$"


class ColourInput(forms.TextInput):
    """The browser's own colour picker (<input type=color>): no script, nothing inline, so it runs under the
    strict Content-Security-Policy; a browser without one shows a text box that takes #rrggbb."""

    input_type = "color"


def _colour(label, help_text) -> forms.RegexField:
    return forms.RegexField(label=label, regex=HEX_COLOUR, widget=ColourInput, help_text=help_text,
                            error_messages={"invalid": _("Use a colour like #0f766e.")})


class BrandingFields(forms.Form):
    """branding: colours (readable text is picked for any colour, tenants.branding), tagline, language, sender ID."""

    BRANDING_FIELDS = ("primary_color", "accent_color", "tagline", "language", "sms_sender_id")

    tagline = forms.CharField(label=_("Tagline"), max_length=120, required=False,
                              help_text=_("A short motto shown under your name, e.g. “Pamoja tunaweza”."))
    primary_color = _colour(_("Main colour"), _("Header, buttons and progress bars. Text colour is picked "
                                                 "for you so it stays readable."))
    accent_color = _colour(_("Accent colour"), _("Highlights and your logo's background."))
    language = forms.ChoiceField(label=_("Default language"), choices=[("en", "English"), ("sw", "Kiswahili")],
                                 help_text=_("Members can still choose their own."))
    sms_sender_id = forms.RegexField(label=_("SMS sender ID"), max_length=11, required=False,
                                     regex=r"^[A-Za-z0-9 ]{1,11}$",
                                     help_text=_("Up to 11 letters or digits, as registered with Africa's Talking."))

    @staticmethod
    def branding_initial(organization: Organization) -> dict:
        return {"tagline": organization.brand("tagline"), "primary_color": organization.brand("primary_color"),
                "accent_color": organization.brand("accent_color"), "language": organization.language,
                "sms_sender_id": organization.brand("sms_sender_id")}

    def branding_data(self) -> dict:
        d = self.cleaned_data
        return {"tagline": d["tagline"], "primary_color": d["primary_color"], "accent_color": d["accent_color"],
                "sms_sender_id": d["sms_sender_id"]}


def _rule(key: str, label, help_text="", *, at_least=None, decimal_places: int = 3) -> forms.Field:
    """A scoring rule's number field. The game's limits (web.services.SCORING_RULES) bound the input in the
    browser (min/max); on the server the game's own check names the field with its words ("must be between 0
    and 100."), through organization_settings_clean. `at_least`: a stricter floor this form keeps."""
    kind, low, high = SCORING_RULES[key]
    if kind is bool:
        return forms.BooleanField(label=label, help_text=help_text, required=False)
    if kind is float:
        field = forms.DecimalField(label=label, help_text=help_text, min_value=at_least, max_digits=8,
                                   decimal_places=decimal_places)
    else:
        field = forms.IntegerField(label=label, help_text=help_text, min_value=at_least)
    field.widget.attrs.update({"min": max(low, at_least) if at_least is not None else low, "max": high})
    return field


class ScoringFields(forms.Form):
    """scoring: every rule a number field with the game's bounds."""

    SCORING_FIELDS = tuple(SCORING_RULES)

    points_per_kes = _rule("points_per_kes", _("Points per shilling saved"))
    streak_multiplier = _rule("streak_multiplier", _("Streak multiplier"), decimal_places=2,
                              help_text=_("Points are multiplied by this while a member keeps a streak."))
    streak_threshold_days = _rule("streak_threshold_days", _("Streak length for the multiplier (days)"), at_least=1)
    streak_threshold_weeks = _rule("streak_threshold_weeks", _("Streak length for the multiplier (weeks)"), at_least=1)
    early_bird_bonus = _rule("early_bird_bonus", _("Early-bird bonus (points)"),
                             help_text=_("Once, for a deposit in the first days of a challenge."))
    early_bird_days = _rule("early_bird_days", _("Early-bird window (days)"))
    consistency_bonus = _rule("consistency_bonus", _("Completion bonus (points)"))
    referral_bonus = _rule("referral_bonus", _("Referral bonus (points)"),
                           help_text=_("When someone a member invited makes their first deposit."))
    # Issue 18: personal goals and streak freezes (docs/GAMIFICATION.md).
    goals_count = _rule("goals_count", _("Personal goals earn points and badges"))
    freeze_every = _rule("freeze_every", _("Streak freeze every (windows in a row)"),
                         help_text=_("A member earns a freeze (at most 2) for this many days or weeks "
                                     "saved in a row; 0 turns freezes off."))

    @staticmethod
    def scoring_initial(organization: Organization) -> dict:
        return {key: organization.scoring_rule(key) for key in SCORING_RULES}

    def scoring_data(self) -> dict:
        return {key: self.cleaned_data[key] for key in SCORING_RULES}


class OrganizationAdminForm(BrandingFields, ScoringFields, forms.ModelForm):
    """The Organization change page of the platform admin: branding and scoring as the typed fields above (the
    raw JSON boxes are gone), the logo checked like the leader's upload; saved by `settings_save`."""

    class Meta:
        model = Organization
        exclude = ["branding", "scoring"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.update({**self.branding_initial(self.instance), **self.scoring_initial(self.instance)})

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo and "logo" in self.changed_data:
            try:
                logo_validate(logo)
            except ValidationError as exc:
                raise forms.ValidationError(exc.message_dict["logo"]) from None
        return logo

    def settings_data(self) -> dict:
        return {"branding": self.branding_data(), "language": self.cleaned_data["language"],
                "scoring": self.scoring_data()}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            # the service's own checks on every field that passed its own, so a rule the game refuses is an error
            # on that field here (never a 500 on save)
            branding = {k: cleaned[k] for k in ("tagline", "primary_color", "accent_color", "sms_sender_id")
                        if k in cleaned}
            data = {"branding": branding, "scoring": {k: cleaned[k] for k in SCORING_RULES if k in cleaned}}
            if "language" in cleaned:
                data["language"] = cleaned["language"]
            try:
                organization_settings_clean(organization=self.instance, data=data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    name = field.split(".")[-1]
                    self.add_error(name if name in self.fields else None, errors)
        return cleaned

    def settings_save(self, *, organization: Organization, actor_label: str) -> Organization:
        """The logo (stored under its sniffed type, or removed) and the branding and scoring JSON, audited."""
        if "logo" in self.changed_data:
            organization = organization_logo_set(organization=organization, logo=self.cleaned_data["logo"] or None,
                                                 actor_label=actor_label)
        return organization_settings_update(organization=organization, data=self.settings_data(),
                                            actor_label=actor_label)
