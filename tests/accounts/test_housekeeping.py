"""Nightly identity housekeeping and the platform owner's view of an organization's audit log."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.authentication import tokens_for_user
from accounts.factories import UserFactory
from accounts.models import SmsDevice
from accounts.tasks import identity_prune


def test_prune_drops_expired_tokens_and_stale_signup_devices(tenant):
    member = UserFactory(phone_number="+254766000001")
    tokens_for_user(member)
    OutstandingToken.objects.create(user=member, jti="old", token="x", created_at=timezone.now(),
                                    expires_at=timezone.now() - dt.timedelta(days=1))
    stale = SmsDevice.objects.create(phone_number="+254766000002", name="sms",
                                     valid_until=timezone.now() - dt.timedelta(days=2))
    fresh = SmsDevice.objects.create(phone_number="+254766000003", name="sms", valid_until=timezone.now())
    owned = SmsDevice.objects.create(phone_number="+254766000001", user=member, name="sms",
                                     valid_until=timezone.now() - dt.timedelta(days=30))
    result = identity_prune.apply().get()
    assert result["tokens"] == 1 and result["devices"] == 1 and result["schema"] == tenant.schema_name
    assert OutstandingToken.objects.filter(user=member).count() == 1
    assert not SmsDevice.objects.filter(pk=stale.pk).exists()
    assert SmsDevice.objects.filter(pk__in=[fresh.pk, owned.pk]).count() == 2


def test_platform_owner_reads_an_organizations_audit_log_in_django_admin(db, org, other_org, in_schema):
    from django.test import Client

    from accounts.models import User
    from accounts.services import audit_record

    with in_schema(org.schema_name):
        audit_record(actor=None, actor_label="Alpha Admin", action="user.role_changed",
                     before={"role": "member"}, after={"role": "org_admin"}, ip_address="198.51.100.7")
    with in_schema(other_org.schema_name):
        audit_record(actor=None, actor_label="Beta Admin", action="beta.only.event")
    with in_schema("public"):
        owner = User.objects.create_superuser("+254700999999", "pw-not-used-123")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    page = client.get("/admin/accounts/auditevent/", {"org": org.slug})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Audit log: Alpha Chama" in text and "user.role_changed" in text and "198.51.100.7" in text
    assert "beta.only.event" not in text
    assert "beta.only.event" in client.get("/admin/accounts/auditevent/", {"org": other_org.slug}).content.decode()
    assert client.get("/admin/accounts/auditevent/").status_code == 200
