"""Kenyan phone numbers: accept what people type, store E.164 (+2547XXXXXXXX / +2541XXXXXXXX)."""

from __future__ import annotations

import hashlib

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def normalize_phone(raw: str) -> str:
    """Return the E.164 form of a Kenyan mobile number, or raise ValidationError saying why.

    Accepts 0712..., 712..., 254712..., +254712... (spaces and dashes ignored).
    """
    if raw is None or not str(raw).strip():
        raise ValidationError(_("Enter a phone number."), code="required")
    text = "".join(ch for ch in str(raw).strip() if ch not in " -().")
    if text.startswith("254") and not text.startswith("+"):
        text = "+" + text
    elif len(text) == 9 and text[0] in "17":
        text = "0" + text
    try:
        parsed = phonenumbers.parse(text, "KE")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("That is not a phone number."), code="invalid") from None
    if parsed.country_code != 254:
        raise ValidationError(_("Use a Kenyan number (+254)."), code="not_kenyan")
    national = str(parsed.national_number)
    if len(national) != 9:
        raise ValidationError(_("A Kenyan mobile number has 9 digits after 0 or +254."), code="length")
    if national[0] not in "17" or not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("That is not a Kenyan mobile number."), code="not_mobile")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_sha256(e164: str) -> str:
    """Daraja's hashed C2B MSISDN: SHA-256 of the number as 2547XXXXXXXX (no plus)."""
    return hashlib.sha256(e164.lstrip("+").encode()).hexdigest()
