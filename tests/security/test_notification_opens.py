"""Notification opens count only through the message's own signed link, once (issue 14, item 7)."""

from __future__ import annotations

import pytest
from django.db import connection

from notifications.models import Notification
from notifications.services import notification_open_url


@pytest.fixture
def pushed(tenant, org):
    from accounts.factories import UserFactory

    member = UserFactory(phone_number="+254712000333", name="Kamau")
    return [Notification.objects.create(user=member, channel="push", template="badge_earned", to="push",
                                        title="Badge", message="You earned a badge", status="sent",
                                        idempotency_key=f"test-open-{n}")
            for n in range(2)]


def _opens(org) -> int:
    from analytics.models import Event

    connection.set_tenant(org)
    return Event.objects.filter(type="notification_opened").count()


def test_anonymous_unsigned_opens_count_nothing(pushed, org, client_for):
    row = pushed[0]
    for _ in range(30):
        assert client_for(org).get(f"/n/{row.pk}/").status_code == 302
        client_for(org).get(f"/n/{row.pk}/", {"s": "forged"})
    assert _opens(org) == 0


def test_the_signed_link_counts_one_open_however_often_it_is_followed(pushed, org, client_for):
    row, other = pushed
    url = notification_open_url(notification_id=row.pk)
    for _ in range(30):
        assert client_for(org).get(url).status_code == 302
    assert _opens(org) == 1
    # one message's signature opens no other message
    signature = url.split("s=", 1)[1]
    client_for(org).get(f"/n/{other.pk}/", {"s": signature})
    assert _opens(org) == 1


def test_a_signature_from_another_organization_does_not_count(pushed, org, other_org, client_for):
    from django_tenants.utils import schema_context

    row = pushed[0]
    with schema_context(other_org.schema_name):
        foreign = notification_open_url(notification_id=row.pk)
    client_for(org).get(foreign)
    assert _opens(org) == 0
