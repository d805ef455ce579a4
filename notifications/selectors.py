"""Reads for notifications."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from notifications import content
from notifications.models import Broadcast, Notification, NotificationPreference, NotificationTemplate, SmsSettings
from notifications.sources import source
from tenants.calendar import day_start, local_today, organization_zone, week_start


def current_organization():
    """The organization of the current schema. Under `schema_context` django-tenants sets only a
    stand-in tenant (schema name, no name or time zone), so load the real one then."""
    from tenants.models import Organization

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Organization):
        return tenant
    return Organization.objects.filter(schema_name=connection.schema_name).first()


def notification_preferences_get(*, user) -> dict:
    """What the profile page shows: channel, WhatsApp, opt-outs, reminders, push devices."""
    prefs = NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)
    return {
        "channel": prefs.channel,
        "has_whatsapp": prefs.has_whatsapp,
        "sms_enabled": not prefs.sms_opted_out,
        "whatsapp_enabled": not prefs.whatsapp_opted_out,
        "reminders_enabled": prefs.reminders_enabled,
        "opt_out_reason": prefs.opt_out_reason,
        "push_devices": user.push_subscriptions.count() if user.pk else 0,
    }


def notification_list(*, user):
    """A member's own messages; an org admin's view of all of them."""
    qs = Notification.objects.select_related("user").order_by("-created_at", "-id")
    return qs if user.is_org_admin else qs.filter(user=user)


def audience_users(*, audience: str):
    """Users for a fan-out: "members" (everyone active), "challenge:<id>" (its participants, from
    the game's selector)."""
    from accounts.models import User

    qs = User.objects.filter(is_active=True, role__in=[User.Role.MEMBER, User.Role.ORG_ADMIN])
    if audience == "members":
        return qs
    if audience.startswith("challenge:"):
        return qs.filter(id__in=challenge_participant_ids(challenge_id=int(audience.split(":", 1)[1])))
    raise ValueError(f"unknown audience {audience!r}")


def challenge_participant_ids(*, challenge_id: int) -> list[int]:
    """User ids of a challenge's participants (the game's selector, installed in notifications/sources.py)."""
    return list(source("challenge_participant_user_ids")(challenge_id=challenge_id))


def _week_start():
    """Monday 00:00 of this ISO week in the organization's time zone."""
    zone = organization_zone(current_organization())
    return day_start(week_start(local_today(zone)), zone)


def weekly_summary_context(user) -> dict:
    """This week's and the overall saved total, by payments' one rule (a reversal comes off once;
    payments' selector, installed in notifications/sources.py)."""
    saved_total = source("saved_total")
    week = saved_total(user=user, since=_week_start())
    total = saved_total(user=user)
    return {"saved_week": f"{week:,.0f}", "total_saved": f"{total:,.0f}"}


def sms_settings_get() -> dict:
    """The org's SMS settings for display: the API key masked, never in full."""
    row = SmsSettings.objects.first() or SmsSettings()
    return {
        "username": row.username, "api_key": row.api_key_masked, "sender_id": row.sender_id,
        "whatsapp_number": row.whatsapp_number, "cost_per_segment": str(row.cost_per_segment),
        "quiet_hours_start": row.quiet_hours_start.strftime("%H:%M"), "quiet_hours_end": row.quiet_hours_end.strftime("%H:%M"),
        "daily_cap": row.daily_cap, "configured": bool(row.username and row.api_key),
    }


def delivery_report_path() -> str:
    row = SmsSettings.objects.first() or SmsSettings.objects.create()
    return f"/hooks/sms/{row.callback_token}/delivery"


def cost_per_segment() -> Decimal:
    row = SmsSettings.objects.first()
    return row.cost_per_segment if row else Decimal(settings.NOTIFICATIONS_COST_PER_SEGMENT)


def template_list() -> list[dict]:
    """Every template key x language with the wording in force, whether it is the org's own, and
    the size of its sample rendering."""
    overrides = {(t.key, t.language): t for t in NotificationTemplate.objects.all()}
    per_segment = cost_per_segment()
    rows = []
    for key in content.TEMPLATE_KEYS:
        for language in content.LANGUAGES:
            override = overrides.get((key, language))
            title, body = (override.title, override.body) if override else content.DEFAULTS[key][language]
            rows.append(template_describe(key=key, language=language, title=title, body=body, per_segment=per_segment)
                        | {"customized": override is not None})
    return rows


def template_describe(*, key: str, language: str, title: str, body: str, per_segment: Decimal | None = None) -> dict:
    sample = content.render(body, content.SAMPLE_CONTEXT)
    size = content.sms_size(sample)
    per_segment = per_segment if per_segment is not None else cost_per_segment()
    return {
        "key": key, "label": str(content.TEMPLATE_LABELS[key]), "language": language, "title": title, "body": body,
        "placeholders": list(content.PLACEHOLDERS[key]), "sample": sample,
        "encoding": size.encoding, "characters": size.characters, "segments": size.segments,
        "cost_per_message": str(content.sms_cost(sample, per_segment=per_segment)),
    }


def broadcast_recipient_count(*, audience: str, challenge_id: int | None) -> int:
    spec = f"challenge:{challenge_id}" if audience == Broadcast.Audience.CHALLENGE else "members"
    return audience_users(audience=spec).count()


def broadcast_preview(*, message: str, audience: str, challenge_id: int | None = None) -> dict:
    """What an admin sees before sending: the text as members get it (both languages), the
    recipient count, SMS segments and the cost estimate."""
    org_name = getattr(current_organization(), "name", "")
    recipients = broadcast_recipient_count(audience=audience, challenge_id=challenge_id)
    previews = {}
    for language in content.LANGUAGES:
        override = NotificationTemplate.objects.filter(key="broadcast", language=language).first()
        body = override.body if override else content.DEFAULTS["broadcast"][language][1]
        previews[language] = content.render(body, {"org": org_name, "message": message})
    longest = max(previews.values(), key=lambda t: content.sms_size(t).segments)
    size = content.sms_size(longest)
    return {
        "previews": previews, "recipients": recipients, "encoding": size.encoding,
        "characters": size.characters, "segments": size.segments,
        "estimated_cost": content.sms_cost(longest, per_segment=cost_per_segment(), recipients=recipients),
    }


def broadcast_progress(*, broadcast: Broadcast) -> dict:
    counts = dict(broadcast.notifications.values("status").annotate(n=Count("id")).values_list("status", "n"))
    done = sum(counts.get(s, 0) for s in ("sent", "failed", "skipped"))
    return {
        "id": broadcast.pk, "status": broadcast.status, "recipients": broadcast.recipients,
        "queued": broadcast.queued, "sent": counts.get("sent", 0), "failed": counts.get("failed", 0),
        "skipped": counts.get("skipped", 0), "pending": counts.get("pending", 0) + counts.get("sending", 0),
        "percent": round(100 * done / broadcast.recipients) if broadcast.recipients else 100,
        "estimated_cost": str(broadcast.estimated_cost),
        "skipped_by_reason": broadcast_skipped_by_reason(broadcast=broadcast),
    }


def broadcast_skipped_by_reason(*, broadcast: Broadcast, names_per_reason: int = 50) -> list[dict]:
    """Who did not get an announcement and why: [{"reason", "label", "count", "names"}], most first."""
    groups: dict[str, list[str]] = {}
    for reason, name, phone in (broadcast.notifications.filter(status=Notification.Status.SKIPPED)
                                .order_by("user__name", "user_id").values_list("reason", "user__name", "user__phone_number")):
        groups.setdefault(reason, []).append(name or phone or "—")
    rows = [{"reason": reason, "label": str(content.SKIP_REASONS.get(reason, reason)), "count": len(names),
             "names": names[:names_per_reason]} for reason, names in groups.items()]
    return sorted(rows, key=lambda r: (-r["count"], r["label"]))


def broadcast_list(*, limit: int = 10):
    return Broadcast.objects.order_by("-created_at")[:limit]


def template_render(*, key: str, language: str, context: dict) -> str:
    """One message's text in a language: the organization's edited wording (current schema) if it
    has one, else the default. For callers that send immediately (the login code)."""
    language = language if language in content.LANGUAGES else "en"
    override = NotificationTemplate.objects.filter(key=key, language=language).first()
    body = override.body if override is not None else content.DEFAULTS[key][language][1]
    return content.render(body, context)
