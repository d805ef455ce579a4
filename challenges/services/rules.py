"""The organization a game write runs for, its scoring rules, and a challenge's spec for the engine.

`scoring_rules_validate` checks what org admins save as `Organization.scoring`; `rules_for` reads it back
as `scoring.Rules`; `spec_of` gives challenges/scoring.py what it needs to know about a challenge.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection

from challenges import scoring
from challenges.models import Challenge


def organization_current():
    from tenants.models import Organization

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization) and tenant.schema_name == connection.schema_name:
        return tenant
    return Organization.objects.get(schema_name=connection.schema_name)


def rules_for(organization=None) -> scoring.Rules:
    organization = organization or organization_current()
    return scoring.Rules.from_lookup(organization.scoring_rule)


def spec_of(challenge: Challenge) -> scoring.ChallengeSpec:
    end = challenge.end_date or challenge.start_date + timedelta(days=challenge.duration_days - 1)
    return scoring.ChallengeSpec(challenge.type, challenge.target, challenge.start_date, end,
                                 freeze_every=rules_for().freeze_every)  # issue 18: streak freezes


SCORING_LIMITS = {
    "points_per_kes": (Decimal("0"), Decimal("100")), "streak_multiplier": (Decimal("1"), Decimal("10")),
    "streak_threshold_days": (0, 366), "streak_threshold_weeks": (0, 53), "early_bird_bonus": (0, 100_000),
    "early_bird_days": (0, 31), "consistency_bonus": (0, 100_000), "referral_bonus": (0, 100_000),
    "freeze_every": (0, 53),  # issue 18: N qualifying windows in a row earn a streak freeze (0 = off)
}
SCORING_FLAGS = {"goals_count"}  # issue 18: whether personal goals count for points and badges


def scoring_rules_validate(*, data) -> dict:
    """Validate an organization's scoring rules (a partial update is merged over the defaults).

    For whoever saves `Organization.scoring` (organization settings API and page). Raises
    ValidationError({"scoring": ["<key>: <reason>", ...]}).
    """
    from tenants.models import default_scoring

    if not isinstance(data, dict):
        raise ValidationError({"scoring": ["Must be an object."]})
    errors, clean = [], {}
    for key, value in data.items():
        if key in SCORING_FLAGS:
            if not isinstance(value, bool):
                errors.append(f"{key}: must be true or false.")
            else:
                clean[key] = value
            continue
        if key not in SCORING_LIMITS:
            errors.append(f"{key}: unknown rule (known: {', '.join(default_scoring())}).")
            continue
        low, high = SCORING_LIMITS[key]
        try:
            number = Decimal(str(value)) if isinstance(low, Decimal) else int(str(value))
        except (InvalidOperation, ValueError):
            errors.append(f"{key}: must be a {'number' if isinstance(low, Decimal) else 'whole number'}.")
            continue
        if isinstance(value, bool) or not (low <= number <= high):
            errors.append(f"{key}: must be between {low} and {high}.")
            continue
        clean[key] = float(number) if isinstance(low, Decimal) else number
    if errors:
        raise ValidationError({"scoring": errors})
    return clean
