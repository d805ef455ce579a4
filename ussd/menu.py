"""The USSD menu as a small state machine: (state, one new input) -> the next screen.

Main: 1 savings & points, 2 rank, 3 join a challenge, 4 save now (amount, then challenge), 5 more
(1 last 5 deposits, optionally by SMS; 2 language). `0` goes back to the main menu from anywhere.
An input that fits no option repeats the screen with "Invalid choice." on top. Numbered lists keep
the ids they showed in the state, so a choice means what the member saw even if the list changed.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import translation

from ussd import screens, selectors, services
from ussd.screens import Screen
from ussd.state import SessionState, action_claim, action_release


@dataclass(frozen=True)
class Context:
    member: object
    org_name: str
    session_id: str
    channel: dict  # {"channel": "ussd", "session": ..., "network_code": ...} for the audit rows


@dataclass
class Step:
    screen: Screen
    outcome: str = ""


def start(*, ctx: Context, state: SessionState) -> Step:
    state.step, state.data = "main", {}
    return Step(screens.main_menu(org_name=ctx.org_name))


def advance(*, ctx: Context, state: SessionState, value: str) -> Step:
    """Apply one input to the state; returns the screen to answer with."""
    value = value.strip()
    if value == "0" and state.step != "main":
        return start(ctx=ctx, state=state)
    handler = _HANDLERS.get(state.step, _main)
    return handler(ctx, state, value)


@contextmanager
def _released_on_failure(ctx: Context, state: SessionState):
    """An action that raised gives its claim back (the member's retry of the step may act)."""
    try:
        yield
    except Exception:
        action_release(session_id=ctx.session_id, step=state.consumed)
        raise


def _choice(value: str, count: int) -> int | None:
    """1..count, or None."""
    if value.isdigit() and value.isascii() and 1 <= int(value) <= count:
        return int(value)
    return None


def _main(ctx: Context, state: SessionState, value: str) -> Step:
    choice = _choice(value, 5)
    if choice is None:
        return Step(screens.main_menu(org_name=ctx.org_name, prefix=screens.invalid_prefix()))
    member = ctx.member
    if choice == 1:
        summary = selectors.member_summary(member=member)
        return Step(screens.savings(**summary), "savings")
    if choice == 2:
        return Step(screens.ranks(rows=selectors.member_ranks(member=member)), "rank")
    if choice == 3:
        rows = selectors.joinable_challenges(member=member)
        if not rows:
            return Step(screens.nothing_to_join(), "join_none")
        state.step, state.data = "join", {"choices": [pk for pk, _name in rows], "names": [n for _pk, n in rows]}
        return Step(screens.join_list(names=state.data["names"]))
    if choice == 4:
        if not selectors.mpesa_ready():
            return Step(screens.mpesa_not_ready(), "save_unavailable")
        state.step, state.data = "save_amount", {}
        return Step(screens.amount_prompt())
    state.step, state.data = "more", {}
    return Step(screens.more_menu())


def _join(ctx: Context, state: SessionState, value: str) -> Step:
    ids, names = state.data["choices"], state.data["names"]
    choice = _choice(value, len(ids))
    if choice is None:
        return Step(screens.join_list(names=names, prefix=screens.invalid_prefix()))
    if not action_claim(session_id=ctx.session_id, step=state.consumed):
        return Step(screens.joined(name=names[choice - 1], created=False), "joined")
    try:
        with _released_on_failure(ctx, state):
            name, created = services.challenge_join(member=ctx.member, challenge_id=ids[choice - 1],
                                                    channel=ctx.channel)
    except ValidationError:
        return Step(screens.join_refused(name=names[choice - 1]), "join_refused")
    return Step(screens.joined(name=name, created=created), "joined")


def _save_amount(ctx: Context, state: SessionState, value: str) -> Step:
    amount = int(value) if value.isdigit() and value.isascii() and len(value) <= 7 else 0
    if not screens.MIN_AMOUNT <= amount <= screens.MAX_AMOUNT:
        return Step(screens.amount_invalid())
    rows = selectors.saving_challenges(member=ctx.member)
    if not rows:
        return _save(ctx, state, amount=amount, challenge_id=None)
    state.step = "save_challenge"
    state.data = {"amount": amount, "choices": [pk for pk, _n in rows], "names": [n for _pk, n in rows]}
    return Step(screens.save_towards(amount=amount, names=state.data["names"]))


def _save_challenge(ctx: Context, state: SessionState, value: str) -> Step:
    ids, names, amount = state.data["choices"], state.data["names"], state.data["amount"]
    choice = _choice(value, len(ids) + 1)
    if choice is None:
        return Step(screens.save_towards(amount=amount, names=names, prefix=screens.invalid_prefix()))
    return _save(ctx, state, amount=amount, challenge_id=ids[choice - 1] if choice <= len(ids) else None)


def _save(ctx: Context, state: SessionState, *, amount: int, challenge_id: int | None) -> Step:
    if action_claim(session_id=ctx.session_id, step=state.consumed):
        with _released_on_failure(ctx, state):
            services.save_now_request(member=ctx.member, amount=amount, challenge_id=challenge_id,
                                      request_key=f"ussd:{ctx.session_id}", channel=ctx.channel)
    return Step(screens.mpesa_prompt(amount=amount), "save")


def _more(ctx: Context, state: SessionState, value: str) -> Step:
    choice = _choice(value, 2)
    if choice is None:
        return Step(screens.more_menu(prefix=screens.invalid_prefix()))
    if choice == 1:
        rows = selectors.recent_deposits(member=ctx.member)
        if not rows:
            return Step(screens.deposits(rows=[]), "deposits")
        state.step, state.data = "deposits", {}
        return Step(screens.deposits(rows=rows))
    state.step, state.data = "language", {}
    return Step(screens.language_menu())


def _deposits(ctx: Context, state: SessionState, value: str) -> Step:
    if _choice(value, 1) is None:
        rows = selectors.recent_deposits(member=ctx.member)
        return Step(screens.deposits(rows=rows, prefix=screens.invalid_prefix()))
    if action_claim(session_id=ctx.session_id, step=state.consumed):
        with _released_on_failure(ctx, state):
            rows = selectors.recent_deposits(member=ctx.member)
            services.member_reply(member=ctx.member, message=screens.sms_deposits(rows=rows),
                                  key=f"ussd:{ctx.session_id}:deposits")
    return Step(screens.deposits_sent(), "deposits_sms")


def _language(ctx: Context, state: SessionState, value: str) -> Step:
    choice = _choice(value, 2)
    if choice is None:
        return Step(screens.language_menu(prefix=screens.invalid_prefix()))
    language = "en" if choice == 1 else "sw"
    if action_claim(session_id=ctx.session_id, step=state.consumed):
        with _released_on_failure(ctx, state):
            services.language_change(member=ctx.member, language=language, channel=ctx.channel)
    with translation.override(language):
        return Step(screens.language_set(), "language")


_HANDLERS = {
    "main": _main, "join": _join, "save_amount": _save_amount, "save_challenge": _save_challenge,
    "more": _more, "deposits": _deposits, "language": _language,
}
