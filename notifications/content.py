"""Message wording: default templates (English and Kiswahili), safe rendering, SMS segment maths.

Templates use `{placeholder}` fields only (no attribute or index access), so an org admin's
wording can never reach into Python objects.
"""

from __future__ import annotations

import functools
import math
import re
import string
from dataclasses import dataclass
from decimal import Decimal

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

LANGUAGES = ("en", "sw")

# key -> placeholders allowed in its wording
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "deposit_confirmed": ("org", "name", "amount", "challenge", "progress", "points", "rank", "rank_change"),
    "deposit_reversed": ("org", "name", "amount", "points", "challenge"),
    "streak_at_risk": ("org", "name", "challenge", "streak"),
    "streak_at_risk_day": ("org", "name", "challenge", "streak"),
    "challenge_started": ("org", "name", "challenge", "end_date"),
    "challenge_ended": ("org", "name", "challenge", "result", "rank", "badges"),
    "badge_earned": ("org", "name", "badge"),
    "top5_entered": ("org", "name", "challenge", "rank"),
    "team_goal_reached": ("org", "name", "team", "challenge"),
    "team_goal_lost": ("org", "name", "team", "challenge", "points"),
    "otp": ("org", "code", "minutes"),
    "weekly_summary": ("org", "name", "saved_week", "total_saved"),
    "broadcast": ("org", "message"),
}
TEMPLATE_KEYS = tuple(PLACEHOLDERS)
TEMPLATE_LABELS = {
    "deposit_confirmed": _("Deposit confirmed"), "deposit_reversed": _("Deposit reversed"),
    "streak_at_risk": _("Streak at risk"),
    "streak_at_risk_day": format_lazy("{} ({})", _("Streak at risk"), _("Daily")),
    "challenge_started": _("Challenge started"), "challenge_ended": _("Challenge ended"),
    "badge_earned": _("Badge earned"), "top5_entered": _("Entered the top 5"),
    "team_goal_reached": _("Team reached its goal"), "team_goal_lost": _("Team fell below its goal"),
    "otp": _("Login code"),
    "weekly_summary": _("Weekly summary"), "broadcast": _("Announcement"),
}

# Never deferred by quiet hours nor stopped by the daily cap: the member is waiting for them.
URGENT_TEMPLATES = frozenset({"otp", "deposit_confirmed"})
# Bulk/marketing-like messages a member can turn off with `reminders_enabled`.
REMINDER_TEMPLATES = frozenset({"streak_at_risk", "streak_at_risk_day", "weekly_summary", "broadcast"})

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "deposit_confirmed": {
        "en": ("Deposit received", "{org}: KES {amount} received for {challenge}. Progress {progress}%, +{points} points, rank #{rank} ({rank_change}). Keep it up!"),
        "sw": ("Amana imepokelewa", "{org}: Tumepokea KES {amount} kwa {challenge}. Maendeleo {progress}%, pointi +{points}, nafasi #{rank} ({rank_change}). Endelea hivyo!"),
    },
    "deposit_reversed": {
        "en": ("Deposit reversed", "{org}: Your deposit of KES {amount} was reversed. {points} points were taken back in {challenge}."),
        "sw": ("Amana imerejeshwa", "{org}: Amana yako ya KES {amount} imerejeshwa. Pointi {points} zimeondolewa katika {challenge}."),
    },
    # The game's one streak-at-risk rule (challenges.services.streaks_at_risk) picks the wording of
    # the streak's window: a weekly streak (this key) or a daily one (streak_at_risk_day).
    "streak_at_risk": {
        "en": ("Your streak is at risk", "{org}: Your savings streak is at risk: no deposit yet this week. Save today to keep it alive!"),
        "sw": ("Mfululizo wako uko hatarini", "{org}: Mfululizo wako wa kuweka akiba uko hatarini: bado hujaweka akiba wiki hii. Weka akiba leo uuendeleze!"),
    },
    "streak_at_risk_day": {
        "en": ("Your streak is at risk", "{org}: Your savings streak is at risk: no deposit yet today. Save before midnight to keep it alive!"),
        "sw": ("Mfululizo wako uko hatarini", "{org}: Mfululizo wako wa kuweka akiba uko hatarini: bado hujaweka akiba leo. Weka akiba kabla ya saa sita usiku uuendeleze!"),
    },
    "challenge_started": {
        "en": ("Challenge started", "{org}: {challenge} has started! Save by {end_date} to win points and badges."),
        "sw": ("Shindano limeanza", "{org}: {challenge} limeanza! Weka akiba hadi {end_date} upate pointi na beji."),
    },
    "challenge_ended": {
        "en": ("Challenge ended", "{org}: {challenge} has ended. Result: {result}. Final rank #{rank}. Badges: {badges}."),
        "sw": ("Shindano limeisha", "{org}: {challenge} limeisha. Matokeo: {result}. Nafasi ya mwisho #{rank}. Beji: {badges}."),
    },
    "badge_earned": {
        "en": ("New badge", "{org}: Congratulations! You earned the {badge} badge."),
        "sw": ("Beji mpya", "{org}: Hongera! Umepata beji ya {badge}."),
    },
    "top5_entered": {
        "en": ("Top 5!", "{org}: You are now #{rank} in {challenge}. You made the top 5!"),
        "sw": ("Tano bora!", "{org}: Sasa uko nafasi ya #{rank} katika {challenge}. Umeingia tano bora!"),
    },
    "team_goal_reached": {
        "en": ("Team goal reached", "{org}: Your team {team} reached its goal in {challenge}. Well done!"),
        "sw": ("Timu imefikia lengo", "{org}: Timu yako {team} imefikia lengo lake katika {challenge}. Hongera!"),
    },
    "team_goal_lost": {
        "en": ("Team below its goal", "{org}: A deposit to your team {team} was reversed, so the team is below its goal in {challenge} again. {points} points were taken back."),
        "sw": ("Timu iko chini ya lengo", "{org}: Amana kwa timu yako {team} imerejeshwa, hivyo timu iko chini ya lengo katika {challenge} tena. Pointi {points} zimeondolewa."),
    },
    "otp": {
        "en": ("Your login code", "Your {org} code is {code}. It expires in {minutes} minutes. Never share it."),
        "sw": ("Nambari yako ya kuingia", "Nambari yako ya {org} ni {code}. Itaisha baada ya dakika {minutes}. Usimpe mtu yeyote."),
    },
    "weekly_summary": {
        "en": ("Your week", "{org}: This week you saved KES {saved_week}. Total saved: KES {total_saved}. Keep going!"),
        "sw": ("Wiki yako", "{org}: Wiki hii umeweka akiba ya KES {saved_week}. Jumla ya akiba: KES {total_saved}. Endelea hivyo!"),
    },
    "broadcast": {
        "en": ("Announcement", "{org}: {message}"),
        "sw": ("Tangazo", "{org}: {message}"),
    },
}

# Sample values for previews and cost estimates in the editor.
SAMPLE_CONTEXT = {
    "org": "Umoja Chama", "name": "Wanjiku", "amount": "1,500", "challenge": "December Sprint",
    "progress": "60", "points": "1500", "rank": "3", "rank_change": "+2", "streak": "4",
    "end_date": "31 Dec", "result": "completed", "badges": "Early Bird", "badge": "Early Bird",
    "team": "Simba", "code": "123456", "minutes": "5", "saved_week": "2,000", "total_saved": "12,500",
    "message": "Our meeting is on Saturday at 2pm.",
}

MAX_SEGMENTS = 3  # longest SMS an admin may configure (rendered with sample values)
MAX_TITLE = 60
MAX_BROADCAST_CHARS = 459


class _SafeFormatter(string.Formatter):
    """`{name}` only; unknown names render empty; no attribute/index lookups."""

    def get_field(self, field_name, args, kwargs):
        if not field_name.isidentifier():
            raise ValueError(f"Unsupported placeholder {{{field_name}}}")
        return kwargs.get(field_name, ""), field_name

    def format_field(self, value, format_spec):
        return format(value, "") if value is not None else ""


_formatter = _SafeFormatter()


def placeholders_in(text: str) -> list[str]:
    """The placeholder names used in `text` (raises ValueError on malformed braces)."""
    names = []
    for _literal, field, spec, conversion in _formatter.parse(text):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"Unsupported placeholder {{{field}}}")
        names.append(field)
    return names


# Fields that may legitimately be blank without making a sentence meaningless.
_ALWAYS_KEPT = frozenset({"org", "name"})
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@functools.lru_cache(maxsize=512)
def _sentences(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A template's sentences with the placeholders each uses (parsed once per wording: a scoring batch
    renders the same two texts hundreds of times)."""
    out = []
    for sentence in _SENTENCE_END.split(text.strip()):
        try:
            names = tuple(placeholders_in(sentence))
        except ValueError:
            names = ()
        out.append((sentence, names))
    return tuple(out)


def render(text: str, context: dict) -> str:
    """Fill `{placeholder}` fields. A sentence whose other fields have no value is left out (a deposit
    that counts toward no challenge has no progress or rank to report), unless that leaves nothing."""
    values = {k: "" if v is None else v for k, v in context.items()}
    kept = []
    for sentence, names in _sentences(text):
        if any(values.get(name, "") == "" for name in names if name not in _ALWAYS_KEPT):
            continue
        kept.append(sentence)
    rendered = _formatter.vformat(" ".join(kept) if kept else text, (), values)
    return " ".join(rendered.split())


@dataclass(frozen=True)
class SmsSize:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # GSM-7 septets or UCS-2 code units
    segments: int
    per_segment: int


def sms_size(text: str) -> SmsSize:
    """How many SMS segments `text` takes: GSM-7 (160, or 153 per part when split; extension
    characters count twice) else UCS-2 (70, or 67 per part)."""
    try:
        septets = len(text.encode("gsm03.38"))
        if septets <= 160:
            return SmsSize("GSM-7", septets, 1 if septets else 0, 160)
        return SmsSize("GSM-7", septets, math.ceil(septets / 153), 153)
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        if units <= 70:
            return SmsSize("UCS-2", units, 1, 70)
        return SmsSize("UCS-2", units, math.ceil(units / 67), 67)


def sms_cost(text: str, *, per_segment: Decimal, recipients: int = 1) -> Decimal:
    return (per_segment * sms_size(text).segments * recipients).quantize(Decimal("0.01"))
