"""Writes for notifications: the outbox (`notify`), sending, delivery reports, preferences,
templates, provider settings, push subscriptions and broadcasts. docs/NOTIFICATIONS.md."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from notifications import content
from notifications.africastalking import (
    BLACKLIST_CODE,
    PermanentProviderError,
    TransientProviderError,
    whatsapp_send,
)
from notifications.backends import SmsMessage, get_sms_backend
from notifications.live import notices_after_commit
from notifications.selectors import current_organization
from notifications.models import (
    Broadcast,
    Channel,
    Notification,
    NotificationPreference,
    NotificationTemplate,
    PushSubscription,
    SmsSettings,
)
from savegame.bulk import insert_instances
from savegame.metrics import provider_timer
from tenants.calendar import organization_zone

logger = logging.getLogger(__name__)

OPT_OUT_FAILURES = {"UserInBlackList", "UserInBlacklist", "DoNotDisturbRejection"}
OPT_OUT_SEND_CODES = {BLACKLIST_CODE, 409}  # UserInBlacklist, DoNotDisturbRejection
FAILED_REPORTS = {"Failed", "Rejected", "AbsentSubscriber", "Expired"}


def sms_send_now(*, to: str, message: str, organization_slug: str) -> bool:
    """Send one SMS immediately through the configured backend (OTP codes cannot wait)."""
    try:
        (result,) = get_sms_backend().send([SmsMessage(to=to, message=message, organization=organization_slug)])
    except (TransientProviderError, PermanentProviderError) as exc:
        logger.warning("sms_send_now failed", extra={"error": str(exc)})
        return False
    return result.ok


# --- the outbox ----------------------------------------------------------------------------------

def notify(*, user, template: str, context: dict | None = None, urgent: bool = False, channel: str | None = None) -> None:
    """Queue a message to `user` in the caller's transaction (the outbox); it is sent after commit.

    `context` holds plain JSON-able values for the template's placeholders. An optional
    `context["idempotency_key"]` (e.g. "deposit:<transaction id>") makes repeated calls collapse
    into one message. OTP and deposit confirmations are urgent: never deferred nor capped.
    """
    notify_many(users=[user], template=template, context=context, urgent=urgent, channel=channel)


def notify_many(
    *,
    users: Iterable,
    template: str,
    context: dict | None = None,
    context_for: Callable[[object], dict] | None = None,
    urgent: bool = False,
    channel: str | None = None,
    key_prefix: str = "",
    broadcast: Broadcast | None = None,
) -> int:
    """The bulk form of `notify`: one INSERT for all `users`. Returns how many rows were new."""
    items = []
    for user in users:
        ctx = dict(context or {})
        if context_for is not None:
            ctx.update(context_for(user))
        items.append((user, ctx))
    return notify_each(items=items, template=template, urgent=urgent, channel=channel, key_prefix=key_prefix,
                       broadcast=broadcast)


def notify_each(
    *,
    items: Iterable[tuple[object, dict]],
    template: str,
    urgent: bool = False,
    channel: str | None = None,
    key_prefix: str = "",
    broadcast: Broadcast | None = None,
) -> int:
    """Queue one `template` message per (user, context) pair with a fixed number of queries (a
    member may appear more than once, e.g. two deposits scored together). Returns how many rows were new."""
    return notify_batch(messages=[(user, template, context) for user, context in items], urgent=urgent,
                        channel=channel, key_prefix=key_prefix, broadcast=broadcast)


def notify_batch(
    *,
    messages: Iterable[tuple[object, str, dict]],
    urgent: bool = False,
    channel: str | None = None,
    key_prefix: str = "",
    broadcast: Broadcast | None = None,
) -> int:
    """The one writer of the outbox: (user, template, context) triples, any mix of templates and
    members, planned with a fixed number of queries and stored in one INSERT. `urgent` applies to
    every message (templates in content.URGENT_TEMPLATES always are). Returns how many rows were new."""
    messages = list(messages)
    for template in {template for _user, template, _ctx in messages}:
        if template not in content.PLACEHOLDERS:
            raise ValueError(f"unknown notification template {template!r}")
    if connection.schema_name == settings.PUBLIC_SCHEMA_NAME:
        logger.warning("notify called outside an organization; ignored",
                       extra={"template": ",".join(sorted({m[1] for m in messages}))})
        return 0
    if not messages:
        return 0
    plan = _Planner(urgent=urgent, templates={template for _user, template, _ctx in messages},
                    users=list({user.pk: user for user, _t, _ctx in messages}.values()))
    rows = []
    for user, template, context in messages:
        ctx = dict(context or {})
        explicit_key = str(ctx.pop("idempotency_key", "") or "")
        if explicit_key:
            key = f"{template}:{explicit_key}:{user.pk}"
        elif key_prefix:
            key = f"{key_prefix}:{user.pk}"
        else:
            key = uuid.uuid4().hex
        rows.append(plan.build(user=user, template=template, context=ctx, channel=channel, key=key[:64],
                               broadcast=broadcast))
    if len(rows) == 1:
        try:
            with transaction.atomic():
                rows[0].save()
        except IntegrityError:
            return 0  # the same idempotency key was queued before
        created = rows
        _skipped_observe(rows)
        notices_after_commit(rows)
    else:
        # One statement for the lot (savegame/bulk.py says why); a repeated idempotency key is skipped.
        created = []
        for start in range(0, len(rows), 1000):
            created += insert_instances(rows[start:start + 1000], conflict="idempotency_key",
                                        returning=["id", "status", "scheduled_for", "idempotency_key", "created_at"])
        by_key = {row.idempotency_key: row for row in rows}
        for pk, _status, _scheduled, key, created_at in created:
            by_key[key].pk, by_key[key].created_at = pk, created_at
        notices_after_commit([by_key[key] for _pk, _status, _scheduled, key, _at in created])
        due = [pk for pk, status, scheduled, *_rest in created if status == Notification.Status.PENDING and scheduled is None]
        if len(created) == len(rows):
            _skipped_observe(rows)
        if len(created) < len(rows):
            # Rows left by an earlier run of the same fan-out are re-enqueued too (harmless: sending
            # claims only pending rows), but only the new ones count.
            new = {pk for pk, *_rest in created}
            due += [pk for pk in Notification.objects.filter(
                idempotency_key__in=[r.idempotency_key for r in rows], status=Notification.Status.PENDING,
                scheduled_for__isnull=True).values_list("pk", flat=True) if pk not in new]
        _enqueue_after_commit(due)
        return len(created)
    due = [r.pk for r in created if r.status == Notification.Status.PENDING and r.scheduled_for is None]
    _enqueue_after_commit(due)
    return len(created)


def _skipped_observe(rows: list[Notification]) -> None:
    """Messages the planner decided not to send (quiet hours, cap, opt-out), for /metrics."""
    from savegame.metrics import messages_observe, safe

    skipped = [row for row in rows if row.status == Notification.Status.SKIPPED]
    if skipped:
        transaction.on_commit(lambda: safe(messages_observe, rows=skipped))


class _Planner:
    """Works out channel, language, wording, quiet hours and cap for a batch of messages with a
    fixed number of queries, whatever the batch size."""

    def __init__(self, *, urgent: bool, templates: set[str], users: list):
        self.urgent = urgent
        self.now = timezone.now()
        self.org = current_organization()
        self.org_settings = SmsSettings.objects.first()
        self.org_language = getattr(self.org, "language", "en") or "en"
        self.org_name = getattr(self.org, "name", "") or ""
        self.ids = [u.pk for u in users]
        self.prefs = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=self.ids)}
        self.push_users = set(PushSubscription.objects.filter(user_id__in=self.ids).values_list("user_id", flat=True).distinct())
        self.overrides = {(t.language, t.key): t for t in NotificationTemplate.objects.filter(key__in=templates)}
        self.deferred_until = quiet_hours_end(now=self.now, org=self.org, org_settings=self.org_settings)
        self.sent_today: dict[int, int] | None = None  # read on the first message that counts toward the cap
        self.cap = (self.org_settings.daily_cap if self.org_settings else settings.NOTIFICATIONS_DAILY_CAP)

    def is_urgent(self, template: str) -> bool:
        return self.urgent or template in content.URGENT_TEMPLATES

    def wording(self, template: str, language: str) -> tuple[str, str]:
        override = self.overrides.get((language, template))
        if override is not None:
            return override.title, override.body
        return content.DEFAULTS[template][language]

    def _count_today(self, user_id: int) -> int:
        if self.sent_today is None:
            since = local_midnight(now=self.now, org=self.org)
            self.sent_today = dict(
                Notification.objects.filter(user_id__in=self.ids, created_at__gte=since, urgent=False)
                .exclude(status=Notification.Status.SKIPPED).exclude(template__in=content.LEADER_TEMPLATES).values("user_id").annotate(n=Count("id")).values_list("user_id", "n")
            )
        return self.sent_today.get(user_id, 0)

    def build(self, *, user, template: str, context: dict, channel: str | None, key: str, broadcast) -> Notification:
        prefs = self.prefs.get(user.pk)
        urgent = self.is_urgent(template)
        priority = content.priority_of(template, urgent=urgent)
        language = user.language if user.language in content.LANGUAGES else (
            self.org_language if self.org_language in content.LANGUAGES else "en")
        title, body = self.wording(template, language)
        ctx = content.localize({"org": self.org_name, "name": getattr(user, "name", ""), **context}, language)
        ch, skip = self._channel_for(user=user, template=template, prefs=prefs, requested=channel)
        if not skip and template in content.REMINDER_TEMPLATES and prefs is not None and not prefs.reminders_enabled:
            skip = "reminders turned off"
        if not skip and not user.is_active:
            skip = "inactive member"
        if not skip and ch == Channel.SMS and not user.phone_number:
            skip = "no phone number"
        if not skip and priority == "automatic":
            count = self._count_today(user.pk)
            if count >= self.cap:
                skip = "daily cap reached"
            self.sent_today[user.pk] = count + 1
        return Notification(
            user=user, channel=ch, template=template, language=language,
            title=content.render(title, ctx)[:120], message=content.render(body, ctx),
            to=user.phone_number, urgent=urgent, idempotency_key=key, broadcast=broadcast,
            status=Notification.Status.SKIPPED if skip else Notification.Status.PENDING, reason=skip,
            scheduled_for=None if skip or priority != "automatic" else self.deferred_until,
        )

    def _channel_for(self, *, user, template: str, prefs, requested: str | None) -> tuple[str, str]:
        """(channel, skip reason). WhatsApp falls back to SMS when the member has none or opted
        out of it; push falls back to SMS without a subscription; SMS opt-out falls back to push."""
        if template in content.DIRECT_REPLY_TEMPLATES:
            return Channel.SMS, ""  # the member asked for it, on SMS or USSD: only SMS reaches that phone
        ch = requested or (prefs.channel if prefs else Channel.SMS)
        if ch == Channel.WHATSAPP and (prefs is None or not prefs.has_whatsapp or prefs.whatsapp_opted_out):
            ch = Channel.SMS
        if ch == Channel.PUSH and user.pk not in self.push_users:
            ch = Channel.SMS
        if ch == Channel.SMS and prefs is not None and prefs.sms_opted_out:
            if user.pk in self.push_users:
                return Channel.PUSH, ""
            return Channel.SMS, "opted out of SMS"
        return ch, ""


def local_midnight(*, now: datetime, org) -> datetime:
    tz = organization_zone(org)
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def quiet_hours_end(*, now: datetime, org, org_settings: SmsSettings | None = None) -> datetime | None:
    """When quiet hours end if `now` falls inside them (org time zone), else None."""
    start = org_settings.quiet_hours_start if org_settings else time.fromisoformat(settings.NOTIFICATIONS_QUIET_HOURS[0])
    end = org_settings.quiet_hours_end if org_settings else time.fromisoformat(settings.NOTIFICATIONS_QUIET_HOURS[1])
    if start == end:
        return None
    tz = organization_zone(org)
    local = now.astimezone(tz)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_at = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


# Rows queued in the open transaction, flushed to the broker once per commit (so a fan-out of
# 1,000 notify calls in one transaction sends a handful of batch tasks, not 1,000). The batch is
# itself the on_commit callback, so when the transaction (or savepoint) rolls back Django drops it
# with everything in it: nothing from a rolled-back transaction leaks into the next commit.
class _EnqueueBatch:
    def __init__(self) -> None:
        self.items: list[tuple[str, int]] = []
        self.flushed = False

    def __call__(self) -> None:
        self.flushed = True
        by_schema: dict[str, list[int]] = {}
        for schema, pk in self.items:
            by_schema.setdefault(schema, []).append(pk)
        for schema, ids in by_schema.items():
            notification_enqueue(notification_ids=ids, schema_name=schema)


def _enqueue_after_commit(ids: list[int]) -> None:
    if not ids:
        return
    schema = connection.schema_name
    if not connection.in_atomic_block:
        notification_enqueue(notification_ids=list(ids), schema_name=schema)
        return
    savepoints = set(connection.savepoint_ids)
    for sids, func, _robust in reversed(connection.run_on_commit):
        if isinstance(func, _EnqueueBatch) and not func.flushed and sids == savepoints:
            func.items.extend((schema, pk) for pk in ids)
            return
    batch = _EnqueueBatch()
    batch.items.extend((schema, pk) for pk in ids)
    transaction.on_commit(batch)


def notification_enqueue(*, notification_ids: list[int], schema_name: str | None = None) -> bool:
    """Send `notification_ids` to the broker in batches. A broker outage is logged, not raised:
    the rows stay pending and the sweep sends them."""
    from django_tenants.utils import schema_context

    from notifications.tasks import send_notifications

    size = settings.NOTIFICATIONS_BATCH_SIZE
    try:
        with schema_context(schema_name or connection.schema_name):
            for start in range(0, len(notification_ids), size):
                send_notifications.apply_async(args=[notification_ids[start:start + size]], retry=False)
    except (KombuError, OSError) as exc:  # broker down (kombu OperationalError): the sweep sends them later
        logger.warning("broker unavailable; notifications left for the sweep", extra={"error": str(exc)})
        return False
    return True


# --- sending ---------------------------------------------------------------------------------

@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    released: int = 0


def notification_send_batch(*, notification_ids: list[int]) -> SendReport:
    """Send the pending, due rows among `notification_ids`, each at most once.

    Rows are claimed (pending -> sending) under row locks first, so two workers, a redelivered
    task or the sweep never send the same row twice. A transient provider error puts the unsent
    rows back to pending and raises TransientProviderError (the task retries with backoff); a
    permanent error fails them with its reason.
    """
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(id__in=notification_ids, status=Notification.Status.PENDING)
            .filter(Q(scheduled_for__isnull=True) | Q(scheduled_for__lte=now))
        )
        if not rows:
            return SendReport()
        Notification.objects.filter(id__in=[r.pk for r in rows]).update(
            status=Notification.Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
        for row in rows:
            row.attempts += 1
    report = SendReport()
    sms_rows = [r for r in rows if r.channel == Channel.SMS]
    transient: TransientProviderError | None = None
    for row in [r for r in rows if r.channel != Channel.SMS]:
        try:
            fallback = _send_whatsapp(row, report) if row.channel == Channel.WHATSAPP else _send_push(row, report)
        except TransientProviderError as exc:
            transient = transient or exc
            _release([row], str(exc), report)
            continue
        if fallback:
            sms_rows.append(_fallback_sms(row))
    sms_rows = [r for r in sms_rows if r is not None]
    try:
        _send_sms(sms_rows, report)
    except TransientProviderError as exc:
        transient = transient or exc
    if transient is not None:
        raise transient
    return report


def _send_sms(rows: list[Notification], report: SendReport) -> None:
    backend = get_sms_backend()
    slug = getattr(current_organization(), "slug", "") or connection.schema_name
    by_text: dict[str, list[Notification]] = {}
    for row in rows:
        by_text.setdefault(row.message, []).append(row)
    step = settings.AFRICASTALKING_MAX_RECIPIENTS
    pending_groups = [group[i:i + step] for group in by_text.values() for i in range(0, len(group), step)]
    for index, group in enumerate(pending_groups):
        try:
            with provider_timer("sms"):
                results = backend.send([SmsMessage(to=r.to, message=r.message, organization=slug) for r in group])
        except TransientProviderError as exc:
            rest = [r for g in pending_groups[index:] for r in g]
            _release(rest, str(exc), report)
            raise
        except PermanentProviderError as exc:
            _finish(group, ok=False, reason=str(exc), report=report)
            continue
        now = timezone.now()
        opt_outs = []
        for row, result in zip(group, results):
            if result.ok:
                row.status, row.reason, row.provider_message_id = Notification.Status.SENT, "", result.provider_id[:100]
                row.cost, row.sent_at = result.cost[:30], now
                report.sent += 1
            else:
                code = int(result.error.split(" ", 1)[0]) if result.error[:3].isdigit() else 0
                if code in (500, 501, 502) and row.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS:
                    row.status, row.reason = Notification.Status.PENDING, result.error[:200]
                    report.released += 1
                else:
                    row.status, row.reason = Notification.Status.FAILED, result.error[:200]
                    report.failed += 1
                if code in OPT_OUT_SEND_CODES:
                    opt_outs.append(row.user_id)
        _save_outcomes(group)
        for user_id in opt_outs:
            preference_opt_out(user_id=user_id, reason="UserInBlacklist")


def _send_whatsapp(row: Notification, report: SendReport) -> bool:
    """Returns True when the message should go by SMS instead."""
    if settings.SMS_BACKEND != "africastalking":  # dev/test backends: read it where the SMS go
        _finish([row], ok=False, reason=f"whatsapp: not available with SMS_BACKEND={settings.SMS_BACKEND}", report=report)
        return True
    try:
        with provider_timer("whatsapp"):
            result = whatsapp_send(to=row.to, message=row.message)
    except PermanentProviderError as exc:
        _finish([row], ok=False, reason=f"whatsapp: {exc}", report=report)
        return True
    if not result.ok:
        _finish([row], ok=False, reason=f"whatsapp: {result.error}", report=report)
        return True
    _finish([row], ok=True, provider_id=result.provider_id, report=report)
    return False


def _send_push(row: Notification, report: SendReport) -> bool:
    from notifications.push import push_send

    delivered = 0
    for subscription in PushSubscription.objects.filter(user_id=row.user_id):
        try:
            with provider_timer("push"):
                outcome = push_send(subscription=subscription, title=row.title, body=row.message,
                                    url=notification_open_url(notification_id=row.pk))
        except PermanentProviderError as exc:
            logger.info("push refused", extra={"error": str(exc)})
            continue
        if outcome == "gone":
            subscription.delete()
        else:
            delivered += 1
    if delivered:
        _finish([row], ok=True, provider_id="webpush", report=report)
        return False
    _finish([row], ok=False, reason="no working push subscription", report=report)
    return True


def _fallback_sms(row: Notification) -> Notification | None:
    """An SMS twin of a WhatsApp/push message that could not go out (unless SMS is opted out)."""
    prefs = NotificationPreference.objects.filter(user_id=row.user_id).first()
    if prefs is not None and prefs.sms_opted_out and row.template != "otp":
        return None
    twin, created = Notification.objects.get_or_create(
        idempotency_key=f"{row.idempotency_key[:56]}:sms",
        defaults=dict(user_id=row.user_id, channel=Channel.SMS, template=row.template, language=row.language,
                      title=row.title, message=row.message, to=row.to, urgent=row.urgent, broadcast_id=row.broadcast_id,
                      status=Notification.Status.SENDING, attempts=1, claimed_at=timezone.now()),
    )
    return twin if created else None


def _finish(rows: list[Notification], *, ok: bool, report: SendReport, reason: str = "", provider_id: str = "") -> None:
    now = timezone.now()
    for row in rows:
        row.status = Notification.Status.SENT if ok else Notification.Status.FAILED
        row.reason = reason[:200]
        row.provider_message_id = provider_id[:100]
        row.sent_at = now if ok else None
    _save_outcomes(rows)
    if ok:
        report.sent += len(rows)
    else:
        report.failed += len(rows)


def _save_outcomes(rows: list[Notification]) -> None:
    """Write each row's send outcome in one UPDATE ... FROM (VALUES ...): Django's bulk_update
    builds a CASE per field and row, which cost ~2 s per 500 rows and dominated a fan-out."""
    if not rows:
        return
    values = ", ".join(["(%s::bigint, %s, %s, %s, %s, %s::timestamptz)"] * len(rows))
    params = [p for r in rows for p in (r.pk, r.status, r.reason, r.provider_message_id, r.cost, r.sent_at)]
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS n SET status = v.status, reason = v.reason, provider_message_id = v.pid, "
            f"cost = v.cost, sent_at = v.sent_at FROM (VALUES {values}) AS v(id, status, reason, pid, cost, sent_at) "
            f"WHERE n.id = v.id",
            params,
        )
    from savegame.metrics import messages_observe, safe

    safe(messages_observe, rows=rows)  # after the write: counted once the outcome is stored


def _release(rows: list[Notification], reason: str, report: SendReport) -> None:
    """Back to pending for a retry, or failed once the attempts are spent."""
    retry = [r for r in rows if r.attempts < settings.NOTIFICATIONS_MAX_ATTEMPTS]
    give_up = [r for r in rows if r.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS]
    if retry:
        Notification.objects.filter(id__in=[r.pk for r in retry]).update(status=Notification.Status.PENDING, reason=reason[:200])
        report.released += len(retry)
    if give_up:
        _finish(give_up, ok=False, reason=f"gave up after {settings.NOTIFICATIONS_MAX_ATTEMPTS} attempts: {reason}", report=report)


def notification_sweep() -> dict:
    """Re-queue pending rows that are due but were never sent (lost broker message, deferred by
    quiet hours, a retry that ran out). Rows stuck in `sending` (a worker died mid-send) are
    failed, not re-sent: the provider may already have them, and a duplicate SMS costs money and trust."""
    now = timezone.now()
    grace = now - timedelta(seconds=settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS)
    ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .filter(Q(scheduled_for__isnull=True, created_at__lt=grace) | Q(scheduled_for__lte=now))
        .order_by("id").values_list("id", flat=True)[: settings.NOTIFICATIONS_SWEEP_LIMIT]
    )
    stuck = Notification.objects.filter(
        status=Notification.Status.SENDING, claimed_at__lt=now - timedelta(minutes=15)
    ).update(status=Notification.Status.FAILED, reason="worker lost during send; not retried to avoid a duplicate")
    if ids:
        notification_enqueue(notification_ids=ids)
    return {"requeued": len(ids), "stuck_failed": stuck}


# --- delivery reports and opt-outs --------------------------------------------------------------

def delivery_report_apply(*, provider_message_id: str, status: str, phone_number: str = "",
                          network_code: str = "", failure_reason: str = "") -> bool:
    """Apply one Africa's Talking delivery report. Returns False for an unknown message id."""
    row = Notification.objects.filter(provider_message_id=provider_message_id).first() if provider_message_id else None
    if row is None:
        return False
    fields = ["delivery_status"]
    row.delivery_status = status[:30]
    if status == "Success":
        row.delivered_at = timezone.now()
        fields.append("delivered_at")
    elif status in FAILED_REPORTS:
        row.status = Notification.Status.FAILED
        row.reason = (failure_reason or status)[:200]
        fields += ["status", "reason"]
    row.save(update_fields=fields)
    if failure_reason in OPT_OUT_FAILURES:
        preference_opt_out(user_id=row.user_id, reason=failure_reason)
    return True


def _open_signer():
    from django.core import signing

    return signing.Signer(salt=f"notifications.open:{connection.schema_name}")


def notification_open_url(*, notification_id: int) -> str:
    """The link a push opens: signed, so only the message's own link counts as an open."""
    signature = _open_signer().sign(str(notification_id)).rsplit(":", 1)[1]
    return f"/n/{notification_id}/?s={signature}"


def notification_opened(*, notification_id: int, signature: str = "") -> bool:
    """A member opened a message (clicked a web push): record it for the notification-to-deposit
    conversion, once per message. Returns False for a bad signature, an id this organization never
    sent, or a message already opened."""
    from django.core import signing

    from analytics.events import event_record

    try:
        _open_signer().unsign(f"{notification_id}:{signature}")
    except signing.BadSignature:
        return False
    if not Notification.objects.filter(pk=notification_id, opened_at__isnull=True).update(opened_at=timezone.now()):
        return False
    row = Notification.objects.filter(pk=notification_id).only("id", "user_id", "template", "channel").first()
    if row is None:
        return False
    event_record(type="notification_opened", user=row.user,
                 properties={"notification_id": row.pk, "template": row.template, "channel": row.channel})
    return True


def preference_opt_out(*, user_id: int, reason: str, channel: str = Channel.SMS) -> NotificationPreference:
    prefs, _created = NotificationPreference.objects.get_or_create(user_id=user_id)
    if channel == Channel.WHATSAPP:
        prefs.whatsapp_opted_out = True
    else:
        prefs.sms_opted_out = True
    prefs.opt_out_reason = reason[:60]
    prefs.opted_out_at = timezone.now()
    prefs.save()
    return prefs


def notification_preferences_update(*, user, data: dict) -> NotificationPreference:
    """Member-editable: channel, has_whatsapp, reminders_enabled, sms_enabled, whatsapp_enabled.
    Turning SMS/WhatsApp back on clears an opt-out (the member asked for it)."""
    from savegame.services import model_update

    prefs, _created = NotificationPreference.objects.get_or_create(user=user)
    changes = {k: data[k] for k in ("channel", "has_whatsapp", "reminders_enabled") if k in data}
    if "sms_enabled" in data:
        changes["sms_opted_out"] = not data["sms_enabled"]
    if "whatsapp_enabled" in data:
        changes["whatsapp_opted_out"] = not data["whatsapp_enabled"]
    if changes.get("sms_opted_out") or changes.get("whatsapp_opted_out"):
        changes["opt_out_reason"], changes["opted_out_at"] = "member choice", timezone.now()
    model_update(instance=prefs, fields=list(changes), data=changes)
    return prefs


# --- templates, settings, push subscriptions --------------------------------------------------------

def notification_template_validate(*, key: str, title: str, body: str) -> dict:
    """Raise ValidationError for unknown placeholders or an SMS longer than MAX_SEGMENTS;
    return the size of the rendered sample ({encoding, characters, segments})."""
    if key not in content.PLACEHOLDERS:
        raise ValidationError({"key": _("Unknown template %(key)s.") % {"key": key}})
    errors = {}
    if not body.strip():
        errors["body"] = _("The message cannot be empty.")
    if len(title) > content.MAX_TITLE:
        errors["title"] = _("At most %(n)d characters.") % {"n": content.MAX_TITLE}
    for field, text in (("title", title), ("body", body)):
        try:
            unknown = set(content.placeholders_in(text)) - set(content.PLACEHOLDERS[key])
        except ValueError as exc:
            errors[field] = str(exc)
            continue
        if unknown:
            errors[field] = _("Unknown placeholder(s): %(unknown)s. Allowed: %(allowed)s.") % {
                "unknown": ", ".join(f"{{{n}}}" for n in sorted(unknown)),
                "allowed": ", ".join(f"{{{n}}}" for n in content.PLACEHOLDERS[key]),
            }
    if errors:
        raise ValidationError(errors)
    size = content.sms_size(content.render(body, content.SAMPLE_CONTEXT))
    if size.segments > content.MAX_SEGMENTS:
        raise ValidationError({"body": _("Too long: %(n)d SMS segments (%(enc)s); at most %(max)d.") % {
            "n": size.segments, "enc": size.encoding, "max": content.MAX_SEGMENTS}})
    return {"encoding": size.encoding, "characters": size.characters, "segments": size.segments}


def notification_template_save(*, actor, key: str, language: str, title: str, body: str) -> NotificationTemplate:
    from accounts.services import audit_record

    if language not in content.LANGUAGES:
        raise ValidationError({"language": "Use en or sw."})
    notification_template_validate(key=key, title=title, body=body)
    row, _created = NotificationTemplate.objects.update_or_create(
        key=key, language=language, defaults={"title": title, "body": body, "updated_by": actor})
    audit_record(actor=actor, action="notification_template.saved", target=row, after={"title": title, "body": body})
    return row


def notification_template_reset(*, actor, key: str, language: str) -> None:
    from accounts.services import audit_record

    deleted, _by_model = NotificationTemplate.objects.filter(key=key, language=language).delete()
    if deleted:
        audit_record(actor=actor, action="notification_template.reset", after={"key": key, "language": language})


SMS_SETTINGS_FIELDS = ("username", "api_key", "sender_id", "whatsapp_number", "cost_per_segment",
                       "quiet_hours_start", "quiet_hours_end", "daily_cap")


def sms_settings_update(*, actor, data: dict) -> SmsSettings:
    """Update the org's Africa's Talking settings. An empty api_key keeps the stored one."""
    from accounts.services import audit_record
    from savegame.services import model_update

    row = SmsSettings.objects.first() or SmsSettings.objects.create()
    data = dict(data)
    if not data.get("api_key"):
        data.pop("api_key", None)
    _row, changed = model_update(instance=row, fields=SMS_SETTINGS_FIELDS, data=data)
    if changed:
        audit_record(actor=actor, action="sms_settings.updated", target=row,
                     after={f: ("(changed)" if f == "api_key" else str(getattr(row, f))) for f in changed})
    return row


def push_subscription_save(*, user, endpoint: str, p256dh: str, auth: str, user_agent: str = "") -> PushSubscription:
    """Register a browser's endpoint for `user`: https on a public host only (savegame.netguard), and
    an endpoint already registered to someone else stays theirs (no takeover by knowing it)."""
    from savegame.netguard import UnsafeUrl, public_url_check

    try:
        public_url_check(endpoint)
    except UnsafeUrl as exc:
        raise ValidationError({"endpoint": [str(exc)]}) from exc
    with transaction.atomic():
        row = PushSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
        if row is not None and row.user_id != user.pk:
            raise ValidationError({"endpoint": ["This device is registered to another account."]})
        if row is None:
            row, _created = PushSubscription.objects.get_or_create(
                endpoint=endpoint, defaults={"user": user, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300]})
            if row.user_id != user.pk:
                raise ValidationError({"endpoint": ["This device is registered to another account."]})
        row.p256dh, row.auth, row.user_agent = p256dh, auth, user_agent[:300]
        row.save(update_fields=["p256dh", "auth", "user_agent"])
    return row


def push_subscription_delete(*, user, endpoint: str) -> int:
    deleted, _by_model = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted


# --- broadcasts and fan-out -------------------------------------------------------------------

def broadcast_create(*, actor, message: str, audience: str, challenge_id: int | None = None) -> Broadcast:
    """Record an announcement and start sending it after commit (fan-out in fixed-size batches)."""
    from accounts.services import audit_record
    from notifications.selectors import broadcast_preview

    preview = broadcast_preview(message=message, audience=audience, challenge_id=challenge_id)
    row = Broadcast.objects.create(
        message=message, audience=audience, challenge_id=challenge_id if audience == Broadcast.Audience.CHALLENGE else None,
        status=Broadcast.Status.SENDING, recipients=preview["recipients"], estimated_cost=preview["estimated_cost"],
        created_by=actor,
    )
    audit_record(actor=actor, action="broadcast.created", target=row,
                 after={"audience": audience, "challenge_id": challenge_id, "recipients": row.recipients})
    audience_spec = f"challenge:{challenge_id}" if audience == Broadcast.Audience.CHALLENGE else "members"
    transaction.on_commit(lambda: fanout_start(template="broadcast", audience=audience_spec,
                                               context={"message": message}, key_prefix=f"bc{row.pk}",
                                               broadcast_id=row.pk))
    return row


def fanout_start(*, template: str, audience: str, context: dict | None = None, key_prefix: str,
                 broadcast_id: int | None = None) -> None:
    from notifications.tasks import fanout_batch

    fanout_batch.apply_async(kwargs=dict(template=template, audience=audience, context=context or {},
                                         key_prefix=key_prefix, broadcast_id=broadcast_id, after_id=0))


def fanout_step(*, template: str, audience: str, context: dict, key_prefix: str, after_id: int,
                broadcast_id: int | None = None, batch_size: int | None = None) -> int | None:
    """Queue one fixed-size batch of the audience after user id `after_id`, in one transaction.
    Returns the cursor for the next batch, or None when the audience is exhausted."""
    from notifications.selectors import audience_users, weekly_summary_context

    size = batch_size or settings.NOTIFICATIONS_FANOUT_BATCH
    with transaction.atomic():
        users = list(audience_users(audience=audience).filter(id__gt=after_id).order_by("id")[:size])
        if not users:
            if broadcast_id:
                Broadcast.objects.filter(pk=broadcast_id).update(status=Broadcast.Status.DONE, finished_at=timezone.now())
            return None
        broadcast = Broadcast.objects.filter(pk=broadcast_id).first() if broadcast_id else None
        context_for = weekly_summary_context if template == "weekly_summary" else None
        created = notify_many(users=users, template=template, context=context, context_for=context_for,
                              key_prefix=key_prefix, broadcast=broadcast)
        if broadcast is not None:
            Broadcast.objects.filter(pk=broadcast.pk).update(queued=F("queued") + created)
    return users[-1].pk if len(users) == size else _finish_fanout(broadcast_id)


def _finish_fanout(broadcast_id: int | None) -> None:
    if broadcast_id:
        Broadcast.objects.filter(pk=broadcast_id).update(status=Broadcast.Status.DONE, finished_at=timezone.now())


def reminders_fanout(*, template: str) -> None:
    """Beat entry point: this tenant's weekly summaries, once per ISO week. (Streak-at-risk
    messages are the game's: challenges.services.streaks_at_risk.)"""
    org = current_organization()
    tz = organization_zone(org)
    today = timezone.now().astimezone(tz).date()
    year, week, _weekday = today.isocalendar()
    fanout_start(template=template, audience="members", context={}, key_prefix=f"{template[:6]}{year}w{week}")


def estimate_cost(*, text: str, recipients: int) -> Decimal:
    row = SmsSettings.objects.first()
    per_segment = row.cost_per_segment if row else Decimal(settings.NOTIFICATIONS_COST_PER_SEGMENT)
    return content.sms_cost(text, per_segment=per_segment, recipients=recipients)
