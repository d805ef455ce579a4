"""Forms for the login and leader pages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.audit import KINDS
from accounts.models import User
from accounts.phone import normalize_phone
from savegame.queryparams import choice_param, id_param, text_param


class PhoneField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Phone number"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", _("For example 0712 345 678."))
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "tel", "autocomplete": "tel", "placeholder": "07XX XXX XXX"})

    def clean(self, value):
        value = super().clean(value)
        try:
            return normalize_phone(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code=exc.code) from None


class PhoneStepForm(forms.Form):
    phone_number = PhoneField()


class JoinRequestForm(forms.Form):
    """A friend's request to join where open sign-up is off (accounts.views.join_view)."""

    name = forms.CharField(label=_("Your name"), max_length=120)
    phone_number = PhoneField()


class CodeStepForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$", label=_("Code from the SMS"), max_length=12,
        error_messages={"invalid": _("Enter the 6-digit code from the SMS.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": r"\d{6}",
                                      "maxlength": "6"}),
    )


class MemberAddForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    phone_number = PhoneField()
    role = forms.ChoiceField(label=_("Role"), choices=[(User.Role.MEMBER, _("Member")),
                                                       (User.Role.ORG_ADMIN, _("Organization admin"))],
                             initial=User.Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[(User.Role.MEMBER, _("Member")),
                                                       (User.Role.ORG_ADMIN, _("Organization admin"))])


class MemberImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Two columns: name, phone. A header row is optional."))


class MemberSearchParams(forms.Form):
    """Query parameters of the member list (API `search`/`role`, page `q`); savegame/queryparams.py."""

    search = text_param(max_length=100)
    q = text_param(max_length=100)
    role = choice_param(User.Role.choices)


class AuditFilterParams(forms.Form):
    """The audit log's filters (page and API): an action code, a person (who acted or was acted on),
    a kind of action (accounts/audit.py KINDS) and a date range in the organization's days."""

    action = text_param(max_length=100)
    person = id_param()
    kind = choice_param([(key, label) for key, (label, _prefixes) in KINDS.items()])
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError({"date_to": _("Must be on or after date_from.")})
        return data
