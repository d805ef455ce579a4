"""Writes behind the web pages and the organization API: organization settings, logo, profile.

Validation lives here once, shared by the leader's settings page and PATCH /api/v1/organizations/{id}:
bad input raises django ValidationError keyed by the field (`branding.primary_color`,
`scoring.points_per_kes`, `time_zone`, ...).
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context

from savegame.imagetype import image_extension
from tenants.branding import HEX_RE
from tenants.models import Organization, default_branding, default_scoring
from tenants.services import organization_cache_clear, organization_update

SENDER_ID_RE = re.compile(r"^[A-Za-z0-9 ]{1,11}$")
BRANDING_KEYS = set(default_branding())
LANGUAGES = {code for code, _name in settings.LANGUAGES}
MAX_LOGO_BYTES = 1024 * 1024
LOGO_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}
# name -> (type, minimum, maximum): gamification's limits (challenges.services.SCORING_LIMITS) are
# the only ones; this view of them sizes the API serializer and the settings form.
def _scoring_rules() -> dict[str, tuple[type, float, float]]:
    from challenges.services import SCORING_FLAGS, SCORING_LIMITS

    rules = {key: ((float, float(low), float(high)) if isinstance(low, Decimal) else (int, low, high))
             for key, (low, high) in SCORING_LIMITS.items()}
    rules.update({key: (bool, 0, 1) for key in sorted(SCORING_FLAGS)})  # issue 18: goals_count
    return rules


SCORING_RULES: dict[str, tuple[type, float, float]] = _scoring_rules()
assert set(SCORING_RULES) == set(default_scoring())


def validate_time_zone(value: str) -> str:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known time zone (e.g. Africa/Nairobi).")
    return value


def _clean_branding(changes: dict, errors: dict) -> dict:
    out = {}
    for key, value in changes.items():
        field = f"branding.{key}"
        if key not in BRANDING_KEYS:
            errors[field] = ["Unknown branding setting."]
            continue
        value = "" if value is None else str(value).strip()
        if key in ("primary_color", "accent_color"):
            if not HEX_RE.match(value):
                errors[field] = ["Use a colour like #0f766e."]
                continue
            value = value.lower()
        elif key == "language" and value not in LANGUAGES:
            errors[field] = [f"Choose one of: {', '.join(sorted(LANGUAGES))}."]
            continue
        elif key == "sms_sender_id" and value and not SENDER_ID_RE.match(value):
            errors[field] = ["At most 11 letters, digits or spaces."]
            continue
        elif key == "tagline" and len(value) > 120:
            errors[field] = ["At most 120 characters."]
            continue
        out[key] = value
    return out


def _clean_scoring(changes: dict, errors: dict) -> dict:
    """Each rule through gamification's `scoring_rules_validate`, so its error names the field."""
    from challenges.services import scoring_rules_validate

    out = {}
    for key, value in changes.items():
        try:
            out.update(scoring_rules_validate(data={key: value}))
        except ValidationError as exc:
            messages = exc.message_dict.get("scoring", exc.messages)
            errors[f"scoring.{key}"] = [m.split(": ", 1)[1] if m.startswith(f"{key}: ") else m for m in messages]
    return out


def organization_settings_update(
    *, organization: Organization, data: dict, actor_label: str, actor=None, ip_address: str | None = None
) -> Organization:
    """Change name, branding (merged), language, time zone, scoring rules (merged) and open sign-up.

    `language` may come top-level or inside branding; it is stored as branding.language. The
    platform audit (public schema) is written by organization_update; with `actor` (an org admin,
    a user of the current schema) the change also lands in the organization's own audit log.
    """
    update = organization_settings_clean(organization=organization, data=data)
    before = {f: getattr(organization, f) for f in update}
    organization = organization_update(organization=organization, data=update, actor_label=actor_label)
    changed = {f: getattr(organization, f) for f in update if getattr(organization, f) != before[f]}
    if actor is not None and changed:
        from accounts.services import audit_record

        audit_record(actor=actor, action="organization.settings_changed", target=None, ip_address=ip_address,
                     before={f: before[f] for f in changed}, after=changed)
    return organization


def organization_settings_clean(*, organization: Organization, data: dict) -> dict:
    """The model fields organization_settings_update would write (branding and scoring merged into the stored
    JSON); ValidationError keyed by the field (`branding.primary_color`, `scoring.points_per_kes`, ...)."""
    errors: dict[str, list[str]] = {}
    update: dict = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if not name:
            errors["name"] = ["The organization needs a name."]
        elif len(name) > 120:
            errors["name"] = ["At most 120 characters."]
        update["name"] = name
    branding_changes = dict(data.get("branding") or {})
    if "language" in data:
        branding_changes["language"] = data["language"]
    if branding_changes:
        branding = dict(organization.branding or default_branding())
        branding.update(_clean_branding(branding_changes, errors))
        update["branding"] = branding
    if "time_zone" in data:
        try:
            update["time_zone"] = validate_time_zone(data["time_zone"])
        except ValidationError as exc:
            errors["time_zone"] = exc.messages
    if data.get("scoring"):
        scoring = default_scoring()
        scoring.update(organization.scoring or {})
        scoring.update(_clean_scoring(dict(data["scoring"]), errors))
        update["scoring"] = scoring
    if "open_signup" in data:
        update["open_signup"] = bool(data["open_signup"])
    if errors:
        raise ValidationError(errors)
    return update


def logo_validate(upload) -> str:
    """The upload's sniffed Pillow format; ValidationError unless it is a small PNG/JPEG/WebP/GIF."""
    from PIL import Image, UnidentifiedImageError

    if upload.size > MAX_LOGO_BYTES:
        raise ValidationError({"logo": ["The logo must be at most 1 MB."]})
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            fmt = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError({"logo": ["Upload a PNG, JPEG, WebP or GIF image."]}) from None
    finally:
        upload.seek(0)
    if fmt not in LOGO_FORMATS:
        raise ValidationError({"logo": ["Upload a PNG, JPEG, WebP or GIF image."]})
    return fmt


def organization_logo_set(
    *, organization: Organization, logo, actor_label: str, actor=None, ip_address: str | None = None
) -> Organization:
    """Replace (or with logo=None remove) the organization's logo, audited, host cache cleared."""
    from accounts.services import audit_record

    fmt = logo_validate(logo) if logo is not None else ""
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        before = organization.logo.name if organization.logo else ""
        if logo is None:
            organization.logo = ""
        else:
            # the stored name carries the sniffed type, never the uploader's extension
            stem = logo.name.rsplit("/", 1)[-1].rsplit(".", 1)[0][:60] or "logo"
            organization.logo.save(f"{stem}.{image_extension(fmt)}", logo, save=False)
        organization.save(update_fields=["logo", "updated_at"])
        audit_record(actor=None, actor_label=actor_label, action="organization.logo_changed", target=organization,
                     before={"logo": before}, after={"logo": organization.logo.name if organization.logo else ""})
    organization_cache_clear(organization=organization)
    if actor is not None:
        audit_record(actor=actor, action="organization.logo_changed", target=None, ip_address=ip_address,
                     before={"logo": before}, after={"logo": organization.logo.name if organization.logo else ""})
    return organization
