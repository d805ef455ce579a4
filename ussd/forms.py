"""Africa's Talking's form-encoded callbacks, validated field by field (junk is refused with a
clear answer, never a 500)."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from accounts.phone import normalize_phone
from tenants.validators import SMS_SHORTCODE_VALIDATOR, USSD_CODE_VALIDATOR

_ID = RegexValidator(r"^[A-Za-z0-9_.:\-]{1,100}$", "Not an id.")
_NETWORK = RegexValidator(r"^[0-9]{0,10}$", "Not a network code.")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _phone(value: str) -> str:
    try:
        return normalize_phone(value)
    except ValidationError:
        raise ValidationError("Not a Kenyan mobile number.") from None


def _printable(value: str) -> str:
    if _CONTROL.search(value or ""):
        raise ValidationError("Control characters are not allowed.")
    return value


class UssdCallbackForm(forms.Form):
    """sessionId, serviceCode, phoneNumber, text (every input so far joined by `*`), networkCode."""

    sessionId = forms.CharField(max_length=100, validators=[_ID])
    serviceCode = forms.CharField(max_length=40, validators=[USSD_CODE_VALIDATOR])
    phoneNumber = forms.CharField(max_length=20)
    text = forms.CharField(max_length=300, required=False, strip=False, validators=[_printable])
    networkCode = forms.CharField(max_length=10, required=False, validators=[_NETWORK])

    def clean_phoneNumber(self) -> str:
        return _phone(self.cleaned_data["phoneNumber"])

    def clean_serviceCode(self) -> str:
        return self.cleaned_data["serviceCode"].strip()


class InboundSmsForm(forms.Form):
    """from, to, text, date, id, linkId, networkCode (`from` is bound as `sender`: a Python keyword)."""

    sender = forms.CharField(max_length=20)
    to = forms.CharField(max_length=16, validators=[SMS_SHORTCODE_VALIDATOR])
    text = forms.CharField(max_length=1000, required=False, strip=False, validators=[_printable])
    date = forms.CharField(max_length=40, required=False, validators=[_printable])
    id = forms.CharField(max_length=100, validators=[_ID])
    linkId = forms.CharField(max_length=100, required=False, validators=[_ID])
    networkCode = forms.CharField(max_length=10, required=False, validators=[_NETWORK])

    def __init__(self, data, **kwargs):
        data = {("sender" if key == "from" else key): value for key, value in data.items()}
        super().__init__(data, **kwargs)

    def clean_sender(self) -> str:
        return _phone(self.cleaned_data["sender"])

    def clean_to(self) -> str:
        return self.cleaned_data["to"].strip()
