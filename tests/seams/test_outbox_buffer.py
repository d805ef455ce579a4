"""The outbox's per-commit enqueue buffer belongs to one transaction: rows that were rolled back
never reach the broker with a later commit (they used to, and could name another, dropped schema)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction


def test_rolled_back_notifications_never_reach_a_later_commit(daytime, tenant, saver, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    import notifications.services as services
    from notifications.models import Notification

    enqueued = []
    monkeypatch.setattr(services, "notification_enqueue",
                        lambda *, notification_ids, schema_name=None: enqueued.append((schema_name, list(notification_ids))))
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            services.notify(user=saver, template="broadcast", context={"message": "rolled back"})
            assert Notification.objects.filter(message__contains="rolled back").exists()
            raise RuntimeError("the event that caused it failed")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(user=saver, template="broadcast", context={"message": "kept one"})
        services.notify(user=saver, template="broadcast", context={"message": "kept two"})
    kept = sorted(Notification.objects.filter(message__contains="kept").values_list("pk", flat=True))
    assert len(kept) == 2
    assert enqueued == [(connection.schema_name, kept)]  # one batch, only the committed rows
