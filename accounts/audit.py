"""The audit log in words (issue 16 item 20): every action code as a sentence a leader can read.

Each code any app records (accounts.services.audit_record) has a sentence here, written with
`%(name)s` placeholders filled from the event: `actor` (who did it), `target` (the member it was
done to, for events on a user), and values of its `after`/`before` (a member named by id there is
looked up once per page). tests/accounts/test_audit_sentences.py finds every code in the source and
fails on one without a sentence. Kinds group the codes for the page's filter.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SENTENCES = {
    # people
    "user.created": gettext_lazy("%(actor)s added %(target)s to the group as %(role)s."),
    "user.role_changed": gettext_lazy("%(actor)s changed %(target)s's role to %(role)s."),
    "user.updated": gettext_lazy("%(actor)s changed %(target)s's details (%(fields)s)."),
    "user.removed": gettext_lazy("%(actor)s removed %(target)s from the group."),
    "user.restored": gettext_lazy("%(actor)s restored %(target)s to the group."),
    "user.profile_updated": gettext_lazy("%(actor)s updated their own profile (%(fields)s)."),
    "members.imported": gettext_lazy("%(actor)s imported members from a CSV file: %(created)s added, %(errors)s refused."),
    "join_request.created": gettext_lazy("%(name)s asked to join the group (%(actor)s); the leaders were told."),
    # sign-ins to the platform console
    "admin.login": gettext_lazy("%(actor)s signed in to the platform console."),
    "admin.login_failed": gettext_lazy("A sign-in to the platform console as %(actor)s failed."),
    "admin.locked_out": gettext_lazy("Sign-ins to the platform console as %(actor)s were locked after too many tries."),
    # the organization's settings
    "organization.created": gettext_lazy("%(actor)s created the organization %(name)s."),
    "organization.updated": gettext_lazy("%(actor)s changed the organization's details (%(fields)s)."),
    "organization.settings_changed": gettext_lazy("%(actor)s changed the organization's settings (%(fields)s)."),
    "organization.logo_changed": gettext_lazy("%(actor)s changed the logo."),
    "domain.added": gettext_lazy("%(actor)s added the web address %(domain)s."),
    "mpesa_settings.updated": gettext_lazy("%(actor)s changed the M-Pesa settings (%(fields)s)."),
    "mpesa_settings.token_rotated": gettext_lazy("%(actor)s changed the secret in the M-Pesa callback addresses."),
    "mpesa_settings.urls_registered": gettext_lazy("%(actor)s registered the callback addresses with Daraja."),
    "sms_settings.updated": gettext_lazy("%(actor)s changed the SMS settings (%(fields)s)."),
    # messages
    "notification_template.saved": gettext_lazy("%(actor)s changed the wording of the message “%(title)s”."),
    "notification_template.reset": gettext_lazy("%(actor)s put the message %(key)s (%(language)s) back to the standard wording."),
    "broadcast.created": gettext_lazy("%(actor)s sent a message to %(recipients)s people."),
    "sms.opted_out": gettext_lazy("%(actor)s stopped SMS messages."),
    "sms.opted_in": gettext_lazy("%(actor)s turned SMS messages back on."),
    # phones (USSD and SMS commands)
    "ussd.challenge_joined": gettext_lazy("%(actor)s joined a challenge from their phone (USSD)."),
    "ussd.language_changed": gettext_lazy("%(actor)s switched their language to %(language)s from their phone."),
    "ussd.save_requested": gettext_lazy("%(actor)s asked for an M-Pesa prompt of KES %(amount)s from their phone."),
    # money
    "transaction.assigned": gettext_lazy("%(actor)s gave an unmatched payment to %(member)s."),
    "transaction.ignored": gettext_lazy("%(actor)s set an unmatched payment aside (ignored)."),
    "transaction.refunded": gettext_lazy("%(actor)s marked an unmatched payment as refunded to the payer."),
    "transaction.reopened": gettext_lazy("%(actor)s put an ignored payment back in the unmatched queue."),
    "transaction.reversed": gettext_lazy("%(actor)s reversed a payment (%(reason)s)."),
    "manual_deposit.recorded": gettext_lazy("%(actor)s recorded a %(method)s deposit of KES %(amount)s for %(member)s."),
    "manual_deposit.credited": gettext_lazy("%(actor)s credited a %(method)s deposit of KES %(amount)s to %(member)s."),
    "manual_deposit.rejected": gettext_lazy("%(actor)s turned down a %(method)s deposit of KES %(amount)s for %(member)s."),
    "callback_inbox.released": gettext_lazy("%(actor)s sent a held-back M-Pesa message to be processed again."),
    "finding.reviewed": gettext_lazy("%(actor)s reviewed a payment-watch finding (%(rule)s)."),
    # challenges and goals
    "challenge.created": gettext_lazy("%(actor)s created the challenge “%(name)s”."),
    "challenge.updated": gettext_lazy("%(actor)s edited the challenge “%(name)s”."),
    "challenge.published": gettext_lazy("%(actor)s published the challenge “%(name)s”."),
    "challenge.cancelled": gettext_lazy("%(actor)s cancelled the challenge “%(name)s”."),
    "challenge.completed": gettext_lazy("%(actor)s ended the challenge “%(name)s” and settled it."),
    "challenge.restored": gettext_lazy("%(actor)s restored the cancelled challenge “%(name)s”."),
    "challenge.deleted": gettext_lazy("%(actor)s deleted the draft challenge “%(name)s”."),
    "goal.created": gettext_lazy("%(actor)s set themselves a personal goal."),
    "goal.updated": gettext_lazy("%(actor)s changed their personal goal."),
}
# challenge.updated with a status change reads as what happened to it
STATUS_SENTENCES = {"active": "challenge.published", "cancelled": "challenge.cancelled", "completed": "challenge.completed"}

KINDS = {
    "people": (gettext_lazy("People"), ("user.", "members.", "join_request.")),
    "money": (gettext_lazy("Money"), ("transaction.", "manual_deposit.", "callback_inbox.", "finding.")),
    "challenges": (gettext_lazy("Challenges and goals"), ("challenge.", "goal.")),
    "settings": (gettext_lazy("Settings"), ("organization.", "domain.", "mpesa_settings.", "sms_settings.")),
    "messages": (gettext_lazy("Messages"), ("notification_template.", "broadcast.", "sms.")),
    "phones": (gettext_lazy("From phones (USSD)"), ("ussd.",)),
    "console": (gettext_lazy("Platform console sign-ins"), ("admin.",)),
}

ROLE_WORDS = {"org_admin": gettext_lazy("admin"), "member": gettext_lazy("member"),
              "super_admin": gettext_lazy("platform owner")}
LANGUAGE_WORDS = {"en": "English", "sw": "Kiswahili", "": gettext_lazy("the group's language")}


def kind_filter(kind: str) -> Q:
    """The audit rows of one kind (KINDS)."""
    condition = Q()
    for prefix in KINDS[kind][1]:
        condition |= Q(action__startswith=prefix)
    return condition


def sentence_code(event) -> str:
    """The SENTENCES key for an event: its action, or what a challenge's status change did."""
    if event.action == "challenge.updated":
        before, after = event.before or {}, event.after or {}
        if after.get("status") and after.get("status") != before.get("status"):
            return STATUS_SENTENCES.get(after["status"], event.action)
    return event.action


class _Values(dict):
    """Placeholders missing from an event read as a dash, never as a KeyError."""

    def __missing__(self, key):
        return "—"


def _user_ids(event) -> set[int]:
    ids = set()
    if event.target_type == "accounts.user" and str(event.target_id).isdigit():
        ids.add(int(event.target_id))
    for data in (event.after or {}, event.before or {}):
        for key in ("member", "user"):
            if isinstance(data, dict) and isinstance(data.get(key), int):
                ids.add(data[key])
    return ids


def _names(ids: set[int]) -> dict[int, str]:
    from accounts.models import User

    if not ids:
        return {}
    return {pk: name or f"…{phone[-4:]}" for pk, name, phone in
            User.objects.filter(pk__in=ids).values_list("pk", "name", "phone_number")}


def _actor(event) -> str:
    if event.actor_id and event.actor is not None:
        return event.actor.display_name
    if event.actor_label in ("", "system"):  # audit_record's label when no one acted (beat, provisioning)
        return _("The system")
    return event.actor_label


def _values(event, names: dict[int, str]) -> _Values:
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    values = _Values({k: v for k, v in {**before, **after}.items() if isinstance(v, (str, int, float))})
    values["actor"] = _actor(event)
    if event.target_type == "accounts.user" and str(event.target_id).isdigit():
        values["target"] = names.get(int(event.target_id), _("a member"))
    for key in ("member", "user"):
        if isinstance(after.get(key), int):
            values["member"] = names.get(after[key], _("a member"))
    if "role" in after:
        values["role"] = ROLE_WORDS.get(after["role"], after["role"])
    if "language" in after:
        values["language"] = LANGUAGE_WORDS.get(after["language"], after["language"])
    if "method" in after:
        values["method"] = {"cash": _("cash"), "bank": _("bank")}.get(after["method"], after["method"])
    changed = list(after) if event.action.endswith(("updated", "settings_changed")) else []
    values["fields"] = ", ".join(str(f).replace("_", " ") for f in changed) or "—"
    return values


def _details(event) -> list[dict]:
    """What changed, field by field (before → after), for the row's fold-out."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    return [{"field": str(key).replace("_", " "), "before": _text(before.get(key)), "after": _text(after.get(key))}
            for key in dict.fromkeys([*before, *after])]


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def audit_sentences(events: Iterable) -> list[dict]:
    """Each event with its sentence and its before/after as readable lines; members named by id are
    looked up in one query for all of them."""
    events = list(events)
    names = _names(set().union(*(_user_ids(e) for e in events)) if events else set())
    rows = []
    for event in events:
        template = SENTENCES.get(sentence_code(event))
        values = _values(event, names)
        sentence = (str(template) % values if template is not None
                    else _("%(actor)s did something the log has no words for yet (%(code)s).")
                    % {"actor": values["actor"], "code": event.action})
        rows.append({"event": event, "sentence": sentence, "details": _details(event)})
    return rows
