"""Writes for identity: users and the audit log."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEvent, JoinRequest, SmsDevice, User, new_account_code
from accounts.phone import normalize_phone
from accounts.selectors import user_forget
from savegame.logging import request_id_var
from savegame.ratelimit import Bucket, Rate, buckets_hit, rates_parse
from savegame.redis import redis_client, tenant_key
from savegame.services import model_update

logger = logging.getLogger(__name__)


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    ip_address: str | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit row in the current schema.

    `actor` must be a user of the current schema (user ids are per schema). For the platform owner
    acting inside an organization, pass actor=None and say who in `actor_label`.
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or (str(actor) if actor is not None else "system"),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=before,
        after=after,
        ip_address=ip_address,
        request_id=request_id_var.get() if request_id_var.get() != "-" else "",
    )


def user_create(
    *,
    phone_number: str,
    name: str = "",
    role: str = User.Role.MEMBER,
    email: str = "",
    language: str = "",
    referred_by: User | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
    welcome: bool = False,
) -> User:
    """Create a user in the current schema with a fresh, unique account code.

    `welcome`: also queue the welcome SMS (site link, account code, how to pay), as when a leader
    adds or imports a member or a new organization gets its first admin.
    Raises django ValidationError for a bad phone number or a number already registered.
    """
    phone = normalize_phone(phone_number)
    if User.objects.filter(phone_number=phone).exists():
        raise ValidationError({"phone_number": "A member with this phone number already exists."})
    for _attempt in range(10):
        user = User(
            phone_number=phone, name=name.strip(), role=role, email=email, language=language,
            referred_by=referred_by, account_code=new_account_code(),
        )
        user.set_unusable_password()
        user.full_clean(exclude=["password", "account_code"])
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            if User.objects.filter(phone_number=phone).exists():
                raise ValidationError({"phone_number": "A member with this phone number already exists."}) from None
            continue  # account code collision: draw another
        audit_record(
            actor=actor, action="user.created", target=user,
            after={"phone_number": phone, "name": user.name, "role": role}, ip_address=ip_address,
        )
        if referred_by is None and role == User.Role.MEMBER:
            _join_request_credit(user=user)
        if welcome:
            member_welcome(user=user)
        return user
    raise RuntimeError("could not allocate a unique account code")


# --- referral where open sign-up is off (issue 16 item 3) --------------------------------------------------------

class JoinRateLimited(Exception):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


def referrer_by_code(*, code: str) -> User | None:
    """The active member whose share link carries `code` (their account code), else None."""
    return User.objects.filter(account_code=(code or "").strip().upper(), is_active=True).first() if code else None


def join_request_create(*, phone_number: str, name: str, referrer: User, ip_address: str | None) -> JoinRequest | None:
    """A friend of `referrer` asks to join where sign-up is closed: their number is kept for the leaders, who
    each get a `join_request` message naming the friend and who invited them. When a leader adds that number
    (user_create), the new member is credited to `referrer`. A number that is already a member, or already
    asked, changes nothing (the page answers the same, so nobody learns who is a member). Limited per
    address like login codes (JoinRateLimited). Raises ValidationError naming `phone_number` or `name`."""
    from notifications.services import notify_many

    verdict = buckets_hit([Bucket(tenant_key("join", "ip", ip_address or "unknown"), Rate.parse(settings.OTP_SEND_RATE_PER_IP))])
    if not verdict.allowed:
        raise JoinRateLimited(_("Too many requests from this network. Try again later."), verdict.retry_after)
    phone, name = normalize_phone(phone_number), (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Tell the leaders your name.")})
    if len(name) > 120:
        raise ValidationError({"name": _("At most 120 characters.")})
    if User.objects.filter(phone_number=phone).exists():
        return None
    with transaction.atomic():
        row, created = JoinRequest.objects.get_or_create(phone_number=phone,
                                                         defaults={"name": name, "referred_by": referrer})
        if not created:
            return None
        audit_record(actor=None, actor_label="join link", action="join_request.created", target=row,
                     after={"phone_number": phone, "name": name, "referred_by": referrer.pk}, ip_address=ip_address)
        leaders = User.objects.filter(role=User.Role.ORG_ADMIN, is_active=True)
        notify_many(users=leaders, template="join_request", key_prefix=f"join:{row.pk}",
                    context={"friend": name, "phone": phone, "referrer": referrer.display_name})
    return row


def _join_request_credit(*, user: User) -> None:
    """A leader added a number a member's link brought (a JoinRequest): the new member is that member's referral."""
    with transaction.atomic():
        request = (JoinRequest.objects.select_for_update().select_related("referred_by")
                   .filter(phone_number=user.phone_number, joined=None).first())
        if request is None or not request.referred_by.is_active:
            return
        user.referred_by = request.referred_by
        user.save(update_fields=["referred_by", "updated_at"])
        request.joined = user
        request.save(update_fields=["joined"])


# The organization's Paybill number for the welcome SMS. payments owns it and hands it in when Django
# starts (payments.apps.PaymentsConfig.ready -> paybill_source_install): accounts sits below payments
# in the layering and never imports it.
_paybill_source = [lambda: None]


def paybill_source_install(source) -> None:
    """`source()` answers the current organization's Paybill number, or None (a Till, none yet)."""
    _paybill_source[0] = source


def member_welcome(*, user: User, paybill: str | None = None) -> None:
    """Queue the welcome SMS in the org's (or member's) language: the site, the account code and how to
    pay (`paybill` as handed in, else payments' installed answer). An organization's admin gets the
    set-up link instead. Sent once per user (idempotency key)."""
    from notifications.services import notify
    from tenants.selectors import organization_base_url
    from notifications.selectors import current_organization

    organization = current_organization()
    if organization is None:
        return
    site = organization_base_url(organization)
    context = {"site": site, "account": user.account_code, "idempotency_key": "welcome"}
    if user.role == User.Role.ORG_ADMIN:
        notify(user=user, template="welcome_admin", context=context)
        return
    paybill = paybill if paybill is not None else _paybill_source[0]()
    notify(user=user, template="welcome", context={**context, "paybill": paybill or "—"})


# --- members -----------------------------------------------------------------------------------

MEMBER_EDITABLE_FIELDS = ["name", "role", "email", "language"]


def _member_snapshot(user: User, fields) -> dict:
    return {field: getattr(user, field) for field in fields}


def member_update(*, member: User, data: dict, actor: User, ip_address: str | None = None) -> User:
    """Change a member's name/role/email/language, auditing before and after.

    A role change is its own audit action (`user.role_changed`). An organization never loses its
    last org admin.
    """
    data = {k: v for k, v in data.items() if k in MEMBER_EDITABLE_FIELDS}
    if "role" in data and data["role"] not in (User.Role.MEMBER, User.Role.ORG_ADMIN):
        raise ValidationError({"role": _("Choose member or org_admin.")})
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if (
            data.get("role") == User.Role.MEMBER
            and member.role == User.Role.ORG_ADMIN
            and not User.objects.filter(role=User.Role.ORG_ADMIN, is_active=True).exclude(pk=member.pk).exists()
        ):
            raise ValidationError({"role": _("The organization needs at least one admin.")})
        before = _member_snapshot(member, data.keys())
        member, changed = model_update(instance=member, fields=MEMBER_EDITABLE_FIELDS, data=data)
        if changed:
            user_forget(user_ids=[member.pk])
            audit_record(
                actor=actor, action="user.role_changed" if "role" in changed else "user.updated", target=member,
                before={f: before[f] for f in changed}, after=_member_snapshot(member, changed), ip_address=ip_address,
            )
    return member


def member_remove(*, member: User, actor: User, ip_address: str | None = None) -> User:
    """Deactivate a member: they can no longer log in, their ledger history stays intact."""
    if member.pk == actor.pk:
        raise ValidationError({"detail": _("You cannot remove yourself.")})
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if not member.is_active:
            return member
        member.is_active = False
        member.save(update_fields=["is_active", "updated_at"])
        user_forget(user_ids=[member.pk])
        SmsDevice.objects.filter(user=member).update(token=None, valid_until=timezone.now())
        audit_record(actor=actor, action="user.removed", target=member,
                     before={"is_active": True, "role": member.role}, after={"is_active": False},
                     ip_address=ip_address)
    return member


def member_restore(*, member: User, actor: User, ip_address: str | None = None) -> User:
    """Undo member_remove: the member may sign in and save again. Safe at any time: removal kept their
    account code, phone number and ledger, and no one else can have taken the number meanwhile."""
    with transaction.atomic():
        member = User.objects.select_for_update().get(pk=member.pk)
        if member.is_active:
            return member
        member.is_active = True
        member.save(update_fields=["is_active", "updated_at"])
        user_forget(user_ids=[member.pk])
        audit_record(actor=actor, action="user.restored", target=member,
                     before={"is_active": False}, after={"is_active": True, "role": member.role}, ip_address=ip_address)
    return member


@dataclass
class ImportRow:
    row: int
    status: str  # created | error
    phone_number: str = ""
    name: str = ""
    errors: dict | None = None
    id: int | None = None


MEMBER_IMPORT_MAX_ROWS = 5000
MEMBER_IMPORT_MAX_BYTES = 1024 * 1024


def csv_upload_text(*, upload) -> str:
    """The text of an uploaded CSV (UTF-8, or Excel's cp1252), or a ValidationError on `file`."""
    if upload.size > MEMBER_IMPORT_MAX_BYTES:
        raise ValidationError({"file": _("The file is larger than 1 MB.")})
    raw = upload.read()
    if b"\x00" in raw:  # images, spreadsheets (.xlsx) and other binary files
        raise ValidationError({"file": _("This is not a CSV file. In Excel, use Save As, then CSV.")})
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": _("Save the file as CSV (UTF-8).")})


def import_report(rows: list[ImportRow]) -> dict:
    created = sum(1 for r in rows if r.status == "created")
    return {"created": created, "failed": len(rows) - created,
            "rows": [{"row": r.row, "status": r.status, "phone_number": r.phone_number, "name": r.name,
                      "id": r.id, "errors": r.errors} for r in rows]}


def members_import_csv(*, text: str, actor: User, ip_address: str | None = None) -> list[ImportRow]:
    """Create members from CSV text with `name,phone` columns (a header row is optional).

    Each row stands alone: a bad row is reported with its reasons and the others still land.
    """
    import csv
    import io

    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise ValidationError({"file": _("This is not a CSV file we can read (%(reason)s).") % {"reason": exc}}) from None
    report: list[ImportRow] = []
    if not rows:
        return report
    start = 1
    header = [c.strip().lower() for c in rows[0]]
    name_at, phone_at = 0, 1
    if any(h in ("phone", "phone_number", "name") for h in header):
        start = 2
        name_at = header.index("name") if "name" in header else -1
        phone_at = next((header.index(h) for h in ("phone", "phone_number") if h in header), -1)
        if phone_at < 0:
            return [ImportRow(row=1, status="error", errors={"phone_number": [_("The file has no phone column.")]})]
        rows = rows[1:]
    if len(rows) > MEMBER_IMPORT_MAX_ROWS:
        return [ImportRow(row=1, status="error",
                          errors={"detail": [_("At most %(n)d rows per file.") % {"n": MEMBER_IMPORT_MAX_ROWS}]})]
    for offset, cells in enumerate(rows):
        number = start + offset
        if not any(c.strip() for c in cells):
            continue
        name = cells[name_at].strip() if 0 <= name_at < len(cells) else ""
        phone = cells[phone_at].strip() if 0 <= phone_at < len(cells) else ""
        if not name:  # a member listed as "—" is no one the group can recognise
            report.append(ImportRow(row=number, status="error", phone_number=phone, name=name,
                                    errors={"name": [_("Every member needs a name.")]}))
            continue
        try:
            with transaction.atomic():
                user = user_create(phone_number=phone, name=name, actor=actor, ip_address=ip_address, welcome=True)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"phone_number": exc.messages}
            report.append(ImportRow(row=number, status="error", phone_number=phone, name=name, errors=errors))
        else:
            report.append(ImportRow(row=number, status="created", phone_number=user.phone_number, name=user.name,
                                    id=user.pk))
    created = sum(1 for r in report if r.status == "created")
    audit_record(actor=actor, action="members.imported", after={"created": created, "errors": len(report) - created},
                 ip_address=ip_address)
    return report


# --- phone OTP login ---------------------------------------------------------------------------

class OtpError(Exception):
    """Base for OTP refusals. `retry_after` (seconds) is set for the rate-limited ones."""

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class OtpRateLimited(OtpError):
    """Sent too often, or tries spent: 429."""


class OtpInvalid(OtpError):
    """Wrong, expired or unknown code: 400."""


def _redis_ttl(key: str) -> int:
    ttl = redis_client().ttl(key)
    return ttl if ttl and ttl > 0 else 1


def otp_send(*, phone_number: str, organization, ip_address: str | None) -> None:
    """Text a login code to `phone_number` (E.164) if it may log in here; otherwise do nothing.

    Either way the caller answers the same, so nobody can learn who is a member. Limits, checked in
    this order and all counted in Redis: sends per IP, the resend cool-down per phone, sends per
    phone. Raises OtpRateLimited with the seconds to wait.
    """
    schema = connection.schema_name
    verdict = buckets_hit([Bucket(tenant_key("otp", "send", "ip", ip_address or "unknown", schema=schema),
                                  Rate.parse(settings.OTP_SEND_RATE_PER_IP))])
    if not verdict.allowed:
        raise OtpRateLimited(_("Too many codes requested from this network. Try again later."),
                             retry_after=verdict.retry_after)
    cooldown_key = tenant_key("otp", "cooldown", phone_number, schema=schema)
    cooldown = settings.OTP_RESEND_COOLDOWN_SECONDS
    if cooldown > 0 and not redis_client().set(cooldown_key, "1", nx=True, ex=cooldown):
        raise OtpRateLimited(_("A code was just sent. Wait a minute before asking for another."),
                             retry_after=_redis_ttl(cooldown_key))
    verdict = buckets_hit([
        Bucket(tenant_key("otp", "send", "phone", phone_number, rate.window_seconds, schema=schema), rate)
        for rate in rates_parse(settings.OTP_SEND_RATE_PER_PHONE)
    ])
    if not verdict.allowed:
        raise OtpRateLimited(_("Too many codes requested for this number. Try again later."),
                             retry_after=verdict.retry_after)

    user = User.objects.filter(phone_number=phone_number).first()
    if (user is None and not organization.open_signup) or (user is not None and not user.is_active):
        # not a member (sign-up closed), or a removed one: answer the same, send nothing
        logger.info("otp requested for a number that cannot log in here")
        return
    with transaction.atomic():
        device, _created = SmsDevice.objects.select_for_update().get_or_create(
            phone_number=phone_number, defaults={"user": user, "name": "sms"},
        )
        if user is not None and device.user_id != user.pk:
            device.user = user
        allowed, info = device.generate_is_allowed()
        if not allowed:
            wait = int((info["next_generation_at"] - timezone.now()).total_seconds()) + 1
            raise OtpRateLimited(_("A code was just sent. Wait a minute before asking for another."),
                                 retry_after=max(1, wait))
        code = device.generate_token()
    language = (user.language if user is not None else "") or organization.language
    from notifications.selectors import template_render
    from notifications.services import sms_send_now

    # the organization's own wording of the "otp" template (edited on /manage/notifications/), in
    # the member's language, else the organization's
    message = template_render(key="otp", language=language, context={
        "org": organization.name, "code": code, "minutes": settings.OTP_VALID_SECONDS // 60,
    })

    if not sms_send_now(to=phone_number, message=message, organization_slug=organization.slug):
        logger.warning("otp sms was not accepted by the backend")


def otp_verify(*, phone_number: str, code: str, organization, ip_address: str | None,
               referral_code: str = "") -> User:
    """Check a login code and return the member it logs in.

    With open sign-up, the first good code from an unknown number creates a member. Raises OtpInvalid
    (wrong, expired or no code) or OtpRateLimited (tries spent, or inside django-otp's back-off).
    """
    wrong = _("That code is not right, or it has expired. Check the SMS or ask for a new code.")
    with transaction.atomic():
        device = SmsDevice.objects.select_for_update().filter(phone_number=phone_number).first()
        if device is None:
            failure: OtpError | None = OtpInvalid(wrong)
        elif device.tries_left() <= 0:
            failure = OtpRateLimited(_("Too many wrong codes. Ask for a new code."),
                                     retry_after=settings.OTP_RESEND_COOLDOWN_SECONDS)
        else:
            allowed, info = device.verify_is_allowed()
            if not allowed:
                wait = int((info["locked_until"] - timezone.now()).total_seconds()) + 1
                failure = OtpRateLimited(_("Too many wrong codes. Wait a moment and try again."),
                                         retry_after=max(1, wait))
            elif device.verify_token(code):  # saves the spent try or the used code
                failure = None
            else:
                failure = OtpInvalid(wrong)
    if failure is not None:
        raise failure

    with transaction.atomic():
        device = SmsDevice.objects.select_for_update().get(pk=device.pk)
        user = device.user or User.objects.filter(phone_number=phone_number).first()
        if user is None:
            if not organization.open_signup:
                raise OtpInvalid(wrong)
            # open sign-up: the first good code from an unknown number makes a member (audited there); a
            # member's share link (?ref=<account code>) names who invited them, for the referral bonus
            referrer = (User.objects.filter(account_code=referral_code, is_active=True).first()
                        if referral_code else None)
            user = user_create(phone_number=phone_number, role=User.Role.MEMBER, ip_address=ip_address,
                               referred_by=referrer)
        if not user.is_active:
            raise OtpInvalid(wrong)
        if device.user_id != user.pk:
            device.user = user
            device.save(update_fields=["user"])
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        user_forget(user_ids=[user.pk])
    try:  # only lifts the resend cool-down; the code is already spent, so the login must not fail here
        redis_client().delete(tenant_key("otp", "cooldown", phone_number))
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("redis unavailable: resend cool-down for a verified login left to expire")
    from analytics.events import event_record

    event_record(type="login", user=user, properties={"channel": "otp"})
    return user



def identity_prune(*, now=None) -> dict:
    """Housekeeping for the current schema: expired JWT records and phone devices that never became
    a member (open sign-up numbers that did not verify within a day)."""
    from datetime import timedelta

    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    now = now or timezone.now()
    tokens, _ = OutstandingToken.objects.filter(expires_at__lt=now).delete()
    devices, _ = SmsDevice.objects.filter(user__isnull=True, valid_until__lt=now - timedelta(days=1)).delete()
    return {"tokens": tokens, "devices": devices}


def user_profile_update(*, user, data: dict, ip_address: str | None = None):
    """A member edits their own name and language (audited in their organization's schema)."""
    clean = {}
    if "name" in data:
        name = (data["name"] or "").strip()
        if len(name) > 120:
            raise ValidationError({"name": ["At most 120 characters."]})
        clean["name"] = name
    if "language" in data:
        codes = sorted(code for code, _name in settings.LANGUAGES)
        if data["language"] not in {*codes, ""}:
            raise ValidationError({"language": [f"Choose one of: {', '.join(codes)}."]})
        clean["language"] = data["language"]
    before = {f: getattr(user, f) for f in clean}
    with transaction.atomic():
        user, changed = model_update(instance=user, fields=["name", "language"], data=clean)
        if changed:
            user_forget(user_ids=[user.pk])
            audit_record(actor=user, action="user.profile_updated", target=user, ip_address=ip_address,
                         before={f: before[f] for f in changed}, after={f: getattr(user, f) for f in changed})
    return user
