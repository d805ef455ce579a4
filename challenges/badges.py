"""The badge rule engine: JSON criteria over a member's metrics.

Criteria forms:
    {"metric": "total_saved", "gte": 10000}          comparisons: gte, gt, lte, lt, eq
    {"all": [rule, ...]}   {"any": [rule, ...]}      nesting allowed
Metrics are computed lazily, only when a rule asks for them (see METRICS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import get_language

COMPARISONS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
}

# metric -> plain-words description used to explain locked badges.
METRICS = {
    "total_saved": "KES saved in total (verified deposits)",
    "deposits_count": "verified deposits",
    "best_streak_weeks": "weeks in a row with a deposit (best run)",
    "best_streak_days": "days in a row with a deposit (best run)",
    "challenges_joined": "challenges joined",
    "challenges_completed": "challenges completed",
    "early_bird_count": "early-bird bonuses (a deposit in a challenge's first days)",
    "teams_joined": "teams joined in group challenges",
    "team_goals_reached": "team goals reached",
    "best_final_rank": "best final rank in an ended challenge (1 = winner)",
    "referrals": "friends referred who made a first deposit",
    "points": "points earned in total",
    "largest_deposit": "KES in a single deposit",
    # per-challenge metrics (badges with per_challenge=True)
    "challenge_saved": "KES saved in this challenge",
    "challenge_rank": "rank in this challenge",
    "challenge_completed": "this challenge completed (1 = yes)",
}


def criteria_validate(rule) -> None:
    """Raise ValidationError({"criteria": ...}) for a malformed rule."""
    def walk(node, path):
        if not isinstance(node, dict):
            raise ValidationError({"criteria": f"{path}: a rule must be an object."})
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            if not isinstance(node[key], list) or not node[key]:
                raise ValidationError({"criteria": f"{path}.{key}: must be a non-empty list of rules."})
            for index, child in enumerate(node[key]):
                walk(child, f"{path}.{key}[{index}]")
            return
        if node.get("metric") not in METRICS:
            raise ValidationError({"criteria": f"{path}.metric: unknown metric {node.get('metric')!r}."})
        ops = [k for k in node if k in COMPARISONS]
        if len(ops) != 1:
            raise ValidationError({"criteria": f"{path}: give exactly one of {', '.join(COMPARISONS)}."})
        try:
            Decimal(str(node[ops[0]]))
        except Exception:
            raise ValidationError({"criteria": f"{path}.{ops[0]}: must be a number."}) from None

    walk(rule, "criteria")


def criteria_evaluate(rule: dict, metric: Callable[[str], object]) -> bool:
    if "all" in rule:
        return all(criteria_evaluate(child, metric) for child in rule["all"])
    if "any" in rule:
        return any(criteria_evaluate(child, metric) for child in rule["any"])
    value = metric(rule["metric"])
    if value is None:
        return False
    for op, compare in COMPARISONS.items():
        if op in rule:
            return compare(Decimal(str(value)), Decimal(str(rule[op])))
    return False


def criteria_explain(rule: dict) -> str:
    words = {"gte": "at least", "gt": "more than", "lte": "at most", "lt": "less than", "eq": "exactly"}
    if "all" in rule:
        return " and ".join(criteria_explain(c) for c in rule["all"])
    if "any" in rule:
        return " or ".join(criteria_explain(c) for c in rule["any"])
    op = next((k for k in rule if k in COMPARISONS), "gte")
    return f"{words[op]} {rule[op]} {METRICS.get(rule.get('metric'), rule.get('metric'))}"


@dataclass(frozen=True)
class BadgeDef:
    key: str  # "system:<slug>" or "org:<slug>"
    slug: str
    name: str
    name_sw: str
    description: str
    description_sw: str
    icon: str
    criteria: dict
    rarity: str
    per_challenge: bool

    def localized_name(self, language: str | None = None) -> str:
        language = language or get_language() or "en"
        return self.name_sw if language.startswith("sw") and self.name_sw else self.name

    def localized_description(self, language: str | None = None) -> str:
        language = language or get_language() or "en"
        return self.description_sw if language.startswith("sw") and self.description_sw else self.description


_CATALOGUE_TTL = 60.0
_system_cache: dict = {"at": 0.0, "badges": []}


def system_badges() -> list[BadgeDef]:
    """The platform catalogue (public schema), cached in-process for a minute."""
    if time.monotonic() - _system_cache["at"] > _CATALOGUE_TTL:
        from tenants.models import SystemBadge

        _system_cache["badges"] = [
            BadgeDef(f"system:{b.slug}", b.slug, b.name, b.name_sw, b.description, b.description_sw, b.icon,
                     b.criteria, b.rarity, b.per_challenge)
            for b in SystemBadge.objects.filter(is_active=True).order_by("id")
        ]
        _system_cache["at"] = time.monotonic()
    return _system_cache["badges"]


def system_badges_forget() -> None:
    _system_cache["at"] = 0.0


_org_cache: dict[str, tuple[float, list[BadgeDef]]] = {}


def org_badges(*, fresh: bool = False) -> list[BadgeDef]:
    """This organization's own active badges, cached in-process per schema for a minute."""
    from django.db import connection

    from challenges.models import Badge

    schema = connection.schema_name
    cached = _org_cache.get(schema)
    if fresh or cached is None or time.monotonic() - cached[0] > _CATALOGUE_TTL:
        badges = [
            BadgeDef(f"org:{b.slug}", b.slug, b.name, b.name_sw, b.description, b.description_sw, b.icon, b.criteria,
                     b.rarity, b.per_challenge)
            for b in Badge.objects.filter(is_active=True).order_by("id")
        ]
        _org_cache[schema] = cached = (time.monotonic(), badges)
    return cached[1]


def catalogue(*, fresh: bool = False) -> list[BadgeDef]:
    """System badges plus this organization's own active badges."""
    return system_badges() + org_badges(fresh=fresh)
