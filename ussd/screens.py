"""What a feature phone shows: every USSD screen and SMS reply, in the active language.

A USSD screen is at most 160 characters (the whole answer, `CON `/`END ` included; longer ones are
cut or refused by some networks) and offers at most 5 options. Names that vary (organizations,
challenges) are shortened to fit; tests/ussd asserts the bound on every screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

MAX_CHARS = 159  # "under 160"
MAX_OPTIONS = 5
MIN_AMOUNT = 1
MAX_AMOUNT = 250_000  # Daraja's STK push ceiling, as the API's StkPushRequestSerializer


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool

    @property
    def body(self) -> str:
        return ("END " if self.end else "CON ") + self.text


def _short(name: str, limit: int) -> str:
    name = " ".join(str(name or "").split())
    return name if len(name) <= limit else name[: max(1, limit - 1)].rstrip() + "…"


def kes(amount) -> str:
    value = Decimal(str(amount or 0))
    return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"


def _menu(header: str, options: list[str], *, back: bool = True, prefix: str = "", end: bool = False) -> Screen:
    """A header and numbered options (names shortened until the screen fits)."""
    lines = [f"{n}. {label}" for n, label in enumerate(options, start=1)]
    if back:
        lines.append("0. " + _("Back"))
    assert len(lines) <= MAX_OPTIONS
    head = (prefix + header).strip()
    limit = 40
    while True:
        shown = [f"{n}. {_short(label, limit)}" for n, label in enumerate(options, start=1)]
        if back:
            shown.append("0. " + _("Back"))
        text = "\n".join([head, *shown]) if head else "\n".join(shown)
        if len(text) + 4 <= MAX_CHARS or limit <= 6:
            return Screen(text[: MAX_CHARS - 4], end)
        limit -= 2


def invalid_prefix() -> str:
    return _("Invalid choice.") + "\n"


# --- the menu -----------------------------------------------------------------------------------

def main_menu(*, org_name: str, prefix: str = "") -> Screen:
    return _menu(_short(org_name, 30), [_("My savings & points"), _("My rank"), _("Join a challenge"),
                                        _("Save now"), _("More")], back=False, prefix=prefix)


def more_menu(*, prefix: str = "") -> Screen:
    return _menu("", [_("My last 5 deposits"), _("Language / Lugha")], prefix=prefix)


def savings(*, total_saved, points: int, deposits: int, goal: dict | None = None) -> Screen:
    text = _("Saved: KES %(total)s\nPoints: %(points)s\nDeposits: %(deposits)s") % {
        "total": kes(total_saved), "points": f"{points:,}", "deposits": deposits}
    if goal:  # issue 18: the member's first running personal goal
        text += "\n" + _("Goal %(name)s: %(percent)s%%") % {"name": _short(goal["name"], 20),
                                                            "percent": goal["percent"]}
    return Screen(text, True)


def ranks(*, rows: list[dict]) -> Screen:
    if not rows:
        return Screen(_("You have not joined a challenge yet. Dial again and choose 3 to join one."), True)
    lines = [_("Your rank:")]
    for row in rows:
        where = (_("#%(rank)s of %(count)s") % {"rank": row["rank"], "count": row["participants"]}
                 if row.get("rank") else _("no rank yet"))
        lines.append(f"{_short(row['name'], 22)}: {where}")
    text = "\n".join(lines)
    while len(text) + 4 > MAX_CHARS and len(lines) > 2:
        lines.pop()
        text = "\n".join(lines)
    return Screen(text, True)


def join_list(*, names: list[str], prefix: str = "") -> Screen:
    return _menu(_("Choose a challenge:"), names, prefix=prefix)


def nothing_to_join() -> Screen:
    return Screen(_("There is no challenge to join right now."), True)


def joined(*, name: str, created: bool) -> Screen:
    if created:
        return Screen(_("You joined %(name)s. Save to earn points!") % {"name": _short(name, 60)}, True)
    return Screen(_("You are already in %(name)s.") % {"name": _short(name, 60)}, True)


def join_refused(*, name: str) -> Screen:
    return Screen(_("%(name)s is not open for joining.") % {"name": _short(name, 60)}, True)


def amount_prompt(*, prefix: str = "") -> Screen:
    return Screen(prefix + _("How much do you want to save? Enter KES %(min)s to %(max)s.") % {
        "min": MIN_AMOUNT, "max": f"{MAX_AMOUNT:,}"} + "\n0. " + _("Back"), False)


def amount_invalid() -> Screen:
    return Screen(_("Enter a whole amount from KES %(min)s to %(max)s.") % {
        "min": MIN_AMOUNT, "max": f"{MAX_AMOUNT:,}"} + "\n0. " + _("Back"), False)


def save_towards(*, amount: int, names: list[str], prefix: str = "") -> Screen:
    return _menu(_("Save KES %(amount)s towards:") % {"amount": kes(amount)}, [*names, _("All my challenges")],
                 prefix=prefix)


def mpesa_prompt(*, amount: int) -> Screen:
    return Screen(_("You will get an M-Pesa prompt for KES %(amount)s. Enter your M-Pesa PIN to save.") % {
        "amount": kes(amount)}, True)


def mpesa_not_ready() -> Screen:
    return Screen(_("Saving by M-Pesa is not set up yet. Ask your group leader."), True)


def deposits(*, rows: list[tuple[str, object]], prefix: str = "") -> Screen:
    if not rows:
        return Screen(_("You have no deposits yet. Choose Save now to make your first."), True)
    lines = [prefix + _("Last deposits:"), *[f"{day} KES {kes(amount)}" for day, amount in rows],
             "1. " + _("Send by SMS"), "0. " + _("Back")]
    return Screen("\n".join(lines), False)


def deposits_sent() -> Screen:
    return Screen(_("We sent your last deposits to you by SMS."), True)


def language_menu(*, prefix: str = "") -> Screen:
    # Both languages on one screen: whoever reads it can find theirs.
    return Screen(prefix + "Choose language / Chagua lugha:\n1. English\n2. Kiswahili\n0. " + _("Back"), False)


def language_set() -> Screen:
    return Screen(_("Language set to English."), True)  # rendered in the language just chosen


def unknown_phone(*, org_name: str) -> Screen:
    return Screen(_("%(org)s: this number is not registered. Ask your group leader to add you.") % {
        "org": _short(org_name, 40)}, True)


def session_ended() -> Screen:
    return Screen(_("Your session has ended. Please dial again."), True)


def busy() -> Screen:
    return Screen(_("The service is busy. Please try again in a minute."), True)


def too_many() -> Screen:
    return Screen(_("Too many requests from this phone. Please try again later."), True)


def bad_request() -> Screen:
    return Screen(_("Sorry, we could not read that request."), True)


def no_such_service() -> Screen:
    return Screen(_("This service is not available."), True)


# --- SMS replies ------------------------------------------------------------------------------------

def sms_balance(*, total_saved, points: int) -> str:
    return _("Saved: KES %(total)s. Points: %(points)s.") % {"total": kes(total_saved), "points": f"{points:,}"}


def sms_ranks(*, rows: list[dict]) -> str:
    if not rows:
        return _("You have not joined a challenge yet. Reply HELP for the commands.")
    parts = []
    for row in rows:
        where = (_("#%(rank)s of %(count)s") % {"rank": row["rank"], "count": row["participants"]}
                 if row.get("rank") else _("no rank yet"))
        parts.append(f"{_short(row['name'], 30)} {where}")
    return _("Your rank: %(ranks)s.") % {"ranks": "; ".join(parts)}


def sms_deposits(*, rows: list[tuple[str, object]]) -> str:
    return _("Your last deposits: %(rows)s.") % {"rows": "; ".join(f"{day} KES {kes(amount)}" for day, amount in rows)}


def sms_save_usage() -> str:
    return _("Send SAVE and a whole amount from %(min)s to %(max)s, e.g. SAVE 500.") % {
        "min": MIN_AMOUNT, "max": f"{MAX_AMOUNT:,}"}


def sms_push_failed(*, amount) -> str:
    return _("M-Pesa could not start your payment of KES %(amount)s. Please try again later.") % {"amount": kes(amount)}


def sms_stopped() -> str:
    return _("You will no longer get SMS from us. Send START to get them again.")


def sms_started() -> str:
    return _("You will get our SMS again. Send STOP to stop them.")


def sms_help() -> str:
    return _("Send BAL for your savings, RANK for your rank, SAVE 500 to save, STOP to stop SMS.")
