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
    "streak_freeze_used": ("org", "name", "challenge", "used", "left"),
    "challenge_started": ("org", "name", "challenge", "end_date"),
    "challenge_ended": ("org", "name", "challenge", "result", "rank", "badges"),
    "badge_earned": ("org", "name", "badge"),
    "top5_entered": ("org", "name", "challenge", "rank"),
    "team_goal_reached": ("org", "name", "team", "challenge"),
    "team_goal_lost": ("org", "name", "team", "challenge", "points"),
    "otp": ("org", "code", "minutes"),
    "weekly_summary": ("org", "name", "saved_week", "total_saved"),
    "broadcast": ("org", "message"),
    "sms_reply": ("org", "message"),
    "welcome": ("org", "name", "site", "account", "paybill"),
    "welcome_admin": ("org", "name", "site", "account"),
    "join_request": ("org", "name", "friend", "phone", "referrer"),
}
TEMPLATE_KEYS = tuple(PLACEHOLDERS)
TEMPLATE_LABELS = {
    "deposit_confirmed": _("Deposit confirmed"), "deposit_reversed": _("Deposit reversed"),
    "streak_at_risk": _("Streak at risk"),
    "streak_at_risk_day": format_lazy("{} ({})", _("Streak at risk"), _("Daily")),
    "streak_freeze_used": _("Streak freeze used"),
    "challenge_started": _("Challenge started"), "challenge_ended": _("Challenge ended"),
    "badge_earned": _("Badge earned"), "top5_entered": _("Entered the top 5"),
    "team_goal_reached": _("Team reached its goal"), "team_goal_lost": _("Team fell below its goal"),
    "otp": _("Login code"),
    "weekly_summary": _("Weekly summary"), "broadcast": _("Announcement"),
    "sms_reply": _("Reply to a USSD or SMS request"),
    "welcome": _("Welcome (new member)"), "welcome_admin": _("Welcome (new organization's admin)"),
    "join_request": _("Someone asks to join (to leaders)"),
}

# Never deferred by quiet hours nor stopped by the daily cap: the member is waiting for them.
URGENT_TEMPLATES = frozenset({"otp", "deposit_confirmed", "sms_reply"})
# Answers to something the member just asked for (a login code; a BAL, STOP or USSD request): always
# by SMS, the channel they asked on, and sent even to a member who opted out of our other SMS.
DIRECT_REPLY_TEMPLATES = frozenset({"otp", "sms_reply"})
# A leader's own announcement: never stopped by the daily cap nor deferred by quiet hours (the
# leader chose to send it now), and it does not use up the cap left for automatic messages.
LEADER_TEMPLATES = frozenset({"broadcast", "welcome", "welcome_admin"})
# Priority of a message, highest first; the cap and quiet hours apply to "automatic" only.
PRIORITIES = ("urgent", "leader", "automatic")


def priority_of(template: str, *, urgent: bool = False) -> str:
    if urgent or template in URGENT_TEMPLATES:
        return "urgent"
    return "leader" if template in LEADER_TEMPLATES else "automatic"


# Placeholders written the one way pages write them (savegame.formatting), in the message's language.
DATE_PLACEHOLDERS = frozenset({"end_date", "start_date"})
AMOUNT_PLACEHOLDERS = frozenset({"amount"})
WHOLE_AMOUNT_PLACEHOLDERS = frozenset({"total_saved", "saved_week"})  # the weekly summary rounds to shillings
POINTS_PLACEHOLDERS = frozenset({"points"})


def localize(context: dict, language: str) -> dict:
    """Dates ("2026-12-22" -> "22 Dec 2026" / "22 Des 2026"), amounts ("2650" -> "2,650.00") and points
    ("10000" -> "10,000") in `context`, for a message in `language`."""
    from django.utils import translation

    from savegame import formatting

    out = dict(context)
    with translation.override(language):
        for key, value in context.items():
            if key in DATE_PLACEHOLDERS:
                out[key] = formatting.day(value)
            elif key in AMOUNT_PLACEHOLDERS:
                out[key] = formatting.amount(value)
            elif key in WHOLE_AMOUNT_PLACEHOLDERS:
                out[key] = formatting.amount(value, cents=False)
            elif key in POINTS_PLACEHOLDERS:
                out[key] = formatting.points(value)
    return out


# Why a message was not sent (Notification.reason, stored in English) -> what a leader reads.
SKIP_REASONS = {
    "opted out of SMS": _("Opted out of SMS"),
    "daily cap reached": _("Daily message limit reached"),
    "reminders turned off": _("Turned announcements and reminders off"),
    "inactive member": _("Removed or inactive"),
    "no phone number": _("No phone number"),
}

# Bulk/marketing-like messages a member can turn off with `reminders_enabled`.
REMINDER_TEMPLATES = frozenset({"streak_at_risk", "streak_at_risk_day", "weekly_summary", "broadcast"})

DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    "welcome": {
        "en": ("Welcome", "{org}: Welcome, {name}! Save and join challenges at {site}. Pay by M-Pesa Paybill {paybill}, account {account}."),
        "sw": ("Karibu", "{org}: Karibu, {name}! Weka akiba na ujiunge na mashindano kwenye {site}. Lipa kwa M-Pesa Paybill {paybill}, akaunti {account}."),
    },
    "welcome_admin": {
        "en": ("Welcome", "{org}: Welcome, {name}! Your group's site is ready. Set it up at {site}/manage/. Your account code is {account}."),
        "sw": ("Karibu", "{org}: Karibu, {name}! Tovuti ya kikundi chako iko tayari. Iandae kwenye {site}/manage/. Nambari ya akaunti yako ni {account}."),
    },
    # To each leader, where open sign-up is off: a member's share link brought a friend (accounts.services).
    "join_request": {
        "en": ("Someone asks to join", "{org}: {friend} ({phone}) asks to join, invited by {referrer}. Add them on the Members page and {referrer} gets the referral bonus."),
        "sw": ("Mtu anaomba kujiunga", "{org}: {friend} ({phone}) anaomba kujiunga, amealikwa na {referrer}. Mwongeze kwenye ukurasa wa Wanachama na {referrer} atapata bonasi ya mwaliko."),
    },
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
    # A streak freeze was spent on a missed window (challenges/freezes.py): the streak is kept.
    "streak_freeze_used": {
        "en": ("Your streak is safe", "{org}: Your streak is safe: {used} freeze used, {left} left. Keep saving to keep it going."),
        "sw": ("Mfululizo wako uko salama", "{org}: Mfululizo wako uko salama: kinga {used} imetumika, zimebaki {left}. Endelea kuweka akiba uuendeleze."),
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
    "sms_reply": {
        "en": ("Reply", "{org}: {message}"),
        "sw": ("Jibu", "{org}: {message}"),
    },
}

# Sample values for previews and cost estimates in the editor.
SAMPLE_CONTEXT = {
    "org": "Umoja Chama", "name": "Wanjiku", "amount": "1,500", "challenge": "December Sprint",
    "progress": "60", "points": "1500", "rank": "3", "rank_change": "+2", "streak": "4",
    "end_date": "31 Dec", "result": "completed", "badges": "Early Bird", "badge": "Early Bird",
    "team": "Simba", "code": "123456", "minutes": "5", "saved_week": "2,000", "total_saved": "12,500",
    "message": "Our meeting is on Saturday at 2pm.",
    "site": "https://umoja.savegame.co.ke", "account": "AB12CD", "paybill": "600123",
    "friend": "Njeri", "phone": "+254712999333", "referrer": "Otieno",
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
