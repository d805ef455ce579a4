"""Celery tasks for notifications. Each runs in the tenant schema it was sent from
(tenant-schemas-celery) on the `notifications` queue (CELERY_TASK_ROUTES), takes ids (never model instances), and retries only transient errors."""

from __future__ import annotations

from notifications.africastalking import TransientProviderError
from savegame.tasknames import task


@task(
    "notifications.batch_send", formerly=["notifications.send"], acks_late=True,
    autoretry_for=(TransientProviderError,), retry_backoff=5, retry_backoff_max=600, retry_jitter=True,
    max_retries=5, soft_time_limit=120, time_limit=150,
)
def send_notifications(notification_ids: list[int]) -> dict:
    """Send one batch of outbox rows (each at most once; see notification_send_batch)."""
    from notifications.services import notification_send_batch

    report = notification_send_batch(notification_ids=notification_ids)
    return {"sent": report.sent, "failed": report.failed, "released": report.released}


@task("notifications.outbox_sweep", formerly=["notifications.sweep"], acks_late=True, soft_time_limit=60,
      time_limit=90)
def sweep_notifications() -> dict:
    """Re-queue pending rows the broker lost or quiet hours deferred."""
    from notifications.services import notification_sweep

    return notification_sweep()


@task(
    "notifications.audience_fanout", formerly=["notifications.fanout"], acks_late=True, soft_time_limit=120,
    time_limit=150,
    autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=3,
)
def fanout_batch(*, template: str, audience: str, context: dict, key_prefix: str,
                 after_id: int = 0, broadcast_id: int | None = None) -> int | None:
    """Queue one fixed-size batch of an audience, then re-queue itself for the next batch.
    Re-running a batch is harmless: rows carry `key_prefix:user_id` idempotency keys."""
    from notifications.services import fanout_step

    cursor = fanout_step(template=template, audience=audience, context=context, key_prefix=key_prefix,
                         after_id=after_id, broadcast_id=broadcast_id)
    if cursor is not None:
        fanout_batch.apply_async(kwargs=dict(template=template, audience=audience, context=context,
                                             key_prefix=key_prefix, after_id=cursor, broadcast_id=broadcast_id))
    return cursor


@task("notifications.reminders_fanout", formerly=["notifications.reminders"], acks_late=True, soft_time_limit=60,
      time_limit=90)
def send_reminders(template: str) -> None:
    """Beat: start this tenant's streak-at-risk reminders or weekly summaries."""
    from notifications.services import reminders_fanout

    reminders_fanout(template=template)
