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
from django.utils.translation import get_language, gettext, ngettext_lazy, pgettext
from django.utils.translation import gettext_lazy as _

COMPARISONS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b,
    "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
}

# metric -> what it counts, in plain words (the admin's and the API's reference; translated).
METRICS = {
    "total_saved": _("KES saved in total (verified deposits)"),
    "deposits_count": _("verified deposits"),
    "best_streak_weeks": _("weeks in a row with a deposit (best run)"),
    "best_streak_days": _("days in a row with a deposit (best run)"),
    "challenges_joined": _("challenges joined"),
    "challenges_completed": _("challenges completed"),
    "early_bird_count": _("early-bird bonuses (a deposit in a challenge's first days)"),
    "teams_joined": _("teams joined in group challenges"),
    "team_goals_reached": _("team goals reached"),
    "best_final_rank": _("best final rank in an ended challenge (1 = winner)"),
    "referrals": _("friends referred who made a first deposit"),
    "points": _("points earned in total"),
    "largest_deposit": _("KES in a single deposit"),
    # per-challenge metrics (badges with per_challenge=True)
    "challenge_saved": _("KES saved in this challenge"),
    "challenge_rank": _("rank in this challenge"),
    "challenge_final_rank": _("final rank in this challenge (judged when it ends; 1 = winner)"),
    "challenge_completed": _("this challenge completed (1 = yes)"),
}

# How a locked badge is explained: the metric with its number (%(n)s, already formatted), so each
# language keeps its own word order ("5 verified deposits", "amana 5 zilizothibitishwa").
_AMOUNTS = {
    "total_saved": _("KES %(n)s saved in total"),
    "largest_deposit": _("KES %(n)s in a single deposit"),
    "challenge_saved": _("KES %(n)s saved in this challenge"),
}
_COUNTS = {
    "deposits_count": ngettext_lazy("%(n)s verified deposit", "%(n)s verified deposits", "count"),
    "best_streak_weeks": ngettext_lazy("%(n)s week in a row with a deposit", "%(n)s weeks in a row with a deposit",
                                       "count"),
    "best_streak_days": ngettext_lazy("%(n)s day in a row with a deposit", "%(n)s days in a row with a deposit",
                                      "count"),
    "challenges_joined": ngettext_lazy("%(n)s challenge joined", "%(n)s challenges joined", "count"),
    "challenges_completed": ngettext_lazy("%(n)s challenge completed", "%(n)s challenges completed", "count"),
    "early_bird_count": ngettext_lazy("%(n)s early-bird bonus (a deposit in a challenge's first days)",
                                      "%(n)s early-bird bonuses (deposits in a challenge's first days)", "count"),
    "teams_joined": ngettext_lazy("%(n)s team joined in a group challenge", "%(n)s teams joined in group challenges",
                                  "count"),
    "team_goals_reached": ngettext_lazy("%(n)s team goal reached", "%(n)s team goals reached", "count"),
    "referrals": ngettext_lazy("%(n)s friend referred who made a first deposit",
                               "%(n)s friends referred who made a first deposit", "count"),
    "points": ngettext_lazy("%(n)s point earned in total", "%(n)s points earned in total", "count"),
}
_COMPARED = {
    "gte": _("at least %(what)s"), "gt": _("more than %(what)s"), "lte": _("at most %(what)s"),
    "lt": _("less than %(what)s"), "eq": _("exactly %(what)s"),
}
# A rank is better when it is lower, so ranks get their own words.
_RANKS = {
    "lte": _("rank %(n)s or better"), "lt": _("better than rank %(n)s"), "eq": _("rank %(n)s"),
    "gte": _("rank %(n)s or lower"), "gt": _("lower than rank %(n)s"),
}
_RANK_WHERE = {
    "challenge_rank": _("%(rank)s in this challenge"),
    "challenge_final_rank": _("%(rank)s at the end of this challenge"),
    "best_final_rank": _("%(rank)s at the end of a challenge"),
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


def number_words(value) -> str:
    """10000 -> "10,000"; 2500.5 -> "2,500.50" (Kenyan usage, in English and Kiswahili alike)."""
    try:
        number = Decimal(str(value))
    except Exception:
        return str(value)
    if not number.is_finite():
        return str(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number:,.2f}"


def criteria_explain(rule: dict, *, nested: bool = False) -> str:
    """A locked badge's criteria in plain words, in the active language."""
    for key, joiner in (("all", pgettext("badge criteria", "and")), ("any", pgettext("badge criteria", "or"))):
        if key in rule:
            text = f" {joiner} ".join(criteria_explain(child, nested=True) for child in rule[key])
            return f"({text})" if nested and len(rule[key]) > 1 else text
    op = next((k for k in rule if k in COMPARISONS), "gte")
    metric, value = rule.get("metric"), rule.get(op)
    n = number_words(value)
    if metric in _RANK_WHERE:
        return str(_RANK_WHERE[metric]) % {"rank": str(_RANKS[op]) % {"n": n}}
    if metric == "challenge_completed":
        wants = [COMPARISONS[op](Decimal(x), Decimal(str(value))) for x in (1, 0)]
        if wants == [True, False]:
            return gettext("complete this challenge")
        if wants == [False, True]:
            return gettext("do not complete this challenge")
    if metric in _AMOUNTS:
        what = str(_AMOUNTS[metric]) % {"n": n}
    elif metric in _COUNTS:
        count = int(Decimal(str(value))) if Decimal(str(value)) == Decimal(str(value)).to_integral_value() else 2
        what = _COUNTS[metric] % {"n": n, "count": count}
    else:  # an unknown metric (rules are validated on save; this is a safety net)
        what = f"{n} {METRICS.get(metric, metric)}"
    return str(_COMPARED[op]) % {"what": what}


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
