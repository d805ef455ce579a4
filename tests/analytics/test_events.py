"""event_record: stores the moment, never raises, never breaks the caller's transaction."""

from __future__ import annotations

import logging

from django.db import transaction

from analytics.models import Event
from analytics.events import event_record


def test_event_record_stores_type_user_and_properties(tenant, make_member):
    user = make_member()
    event_record(type="challenge_joined", user=user, properties={"challenge_id": 7})
    event = Event.objects.get()
    assert (event.type, event.user_id, event.properties) == ("challenge_joined", user.pk, {"challenge_id": 7})
    event_record(type="login")
    assert Event.objects.filter(type="login", user__isnull=True).count() == 1
    # Gamification says "challenge": the challenge id is stored where the metrics read it.
    event_record(type="challenge_joined", user=user, properties={"challenge": 9, "type": "streak"})
    assert Event.objects.filter(properties__challenge_id=9, properties__challenge=9).count() == 1


def test_event_record_never_raises_nor_breaks_the_callers_transaction(tenant, make_member, caplog):
    from accounts.models import User

    user = make_member()
    with caplog.at_level(logging.ERROR, logger="analytics.services"), transaction.atomic():
        event_record(type="deposit_verified", user=user, properties={"bad": object()})  # not JSON
        event_record(type="x" * 100, user=None, properties=None)
        event_record(type="login", user=User(pk=987654321))  # a user this schema does not have
        User.objects.filter(pk=user.pk).update(name="still works")  # the transaction is usable
    assert User.objects.get(pk=user.pk).name == "still works"
    assert "analytics event not recorded" in caplog.text
    assert Event.objects.filter(type="x" * 40).count() == 1
