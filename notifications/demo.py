"""Demo notifications: the org's SMS settings, a few member preferences and a sent announcement,
so /manage/notifications/ has something to show. Idempotent."""

from __future__ import annotations

from django.utils import timezone

from notifications.models import Broadcast, Notification, NotificationPreference, SmsSettings


def seed(organization, members) -> None:
    SmsSettings.objects.get_or_create(defaults={"sender_id": organization.brand("sms_sender_id")[:11]})
    members = list(members)
    if members:
        NotificationPreference.objects.get_or_create(user=members[0], defaults={"channel": "whatsapp", "has_whatsapp": True})
    if Broadcast.objects.exists():
        return
    text = "Karibu! Savings challenges are live: save a little every week." if organization.language == "en" else \
        "Karibu! Mashindano ya akiba yameanza: weka akiba kidogo kila wiki."
    broadcast = Broadcast.objects.create(message=text, status=Broadcast.Status.DONE, recipients=len(members),
                                         queued=len(members), finished_at=timezone.now())
    now = timezone.now()
    Notification.objects.bulk_create([
        Notification(user=m, template="broadcast", language=organization.language, title="Announcement",
                     message=f"{organization.name}: {text}", to=m.phone_number, status=Notification.Status.SENT,
                     idempotency_key=f"demo-bc{broadcast.pk}:{m.pk}", broadcast=broadcast, attempts=1,
                     provider_message_id="demo", sent_at=now)
        for m in members
    ], ignore_conflicts=True)
