"""Test fixtures: two organizations for the whole session, each test rolled back.

- `org` / `other_org`: the two session-wide organizations (schemas cloned once; a fresh
  instance per test).
- `tenant`: the database, switched to `org`'s schema, rolled back after the test.
- `client_for(org)` / `api_client_for(org)`: HTTP clients that send the org's Host header.
- `committed_org`: a fresh organization whose writes are really committed (for live servers,
  Celery workers and concurrency tests); it is dropped afterwards.
- Redis (a dedicated test database) is flushed before every test.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from savegame.redis import redis_client
from tenants.models import Organization
from tenants.services import organization_create, public_tenant_ensure, template_schema_ensure

ORG_PHONE = "+254711000001"
OTHER_ORG_PHONE = "+254711000002"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        public_tenant_ensure()
        template_schema_ensure()
        call_command("migrate_schemas", tenant=True, schema_name=settings.TENANT_BASE_SCHEMA,
                     interactive=False, verbosity=0)
        for slug, name, phone in (("alpha", "Alpha Chama", ORG_PHONE), ("beta", "Beta SACCO", OTHER_ORG_PHONE)):
            if not Organization.objects.filter(slug=slug).exists():
                organization_create(slug=slug, name=name, type="chama", admin_phone=phone,
                                    admin_name=f"{name} Admin", shortcode="600000", welcome=False)


@pytest.fixture
def org(django_db_setup, django_db_blocker) -> Organization:
    """A fresh copy per test, so one test's in-memory changes never leak into the next."""
    with django_db_blocker.unblock():
        return Organization.objects.get(slug="alpha")


@pytest.fixture
def other_org(django_db_setup, django_db_blocker) -> Organization:
    with django_db_blocker.unblock():
        return Organization.objects.get(slug="beta")


def host_of(organization: Organization) -> str:
    return f"{organization.slug}.{settings.BASE_DOMAIN}"


@pytest.fixture
def tenant(db, org):
    """Run the test inside `org`'s schema; everything is rolled back afterwards."""
    connection.set_tenant(org)
    yield org
    connection.set_schema_to_public()


@pytest.fixture
def client_for():
    def make(organization: Organization, **defaults) -> Client:
        return Client(HTTP_HOST=host_of(organization), **defaults)

    return make


@pytest.fixture
def api_client_for():
    from rest_framework.test import APIClient

    def make(organization: Organization) -> APIClient:
        client = APIClient()
        client.defaults["HTTP_HOST"] = host_of(organization)
        return client

    return make


@pytest.fixture
def org_admin(tenant):
    from accounts.models import User

    return User.objects.get(phone_number=ORG_PHONE)


@pytest.fixture
def leader(client_for, org, org_admin):
    """A test client on `org`'s host signed in as its admin (the leader pages)."""
    client = client_for(org)
    client.force_login(org_admin)
    return client


@pytest.fixture
def committed_org(django_db_setup, django_db_blocker):
    """A fresh organization whose data is committed; dropped after the test."""
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        slug = f"live-{uuid.uuid4().hex[:8]}"
        organization = organization_create(slug=slug, name=f"Live {slug}", type="chama",
                                           admin_phone="+254722000001", shortcode="600999", welcome=False)
        try:
            yield organization
        finally:
            connection.set_schema_to_public()
            organization.delete(force_drop=True)


@pytest.fixture(autouse=True)
def _clean_state():
    """Each test starts in the public schema (requests leave the connection on their tenant)
    with an empty Redis test database and an empty per-process host cache."""
    from payments.callback_checks import shortcodes_forget
    from savegame.ratelimit import closed_forget
    from tenants.selectors import organization_local_forget

    connection.set_schema_to_public()
    redis_client().flushdb()
    organization_local_forget()  # the /hooks/ per-process host cache, like the Redis one
    closed_forget()  # addresses the /hooks/ limiter closed in this process
    shortcodes_forget()  # the callbacks' per-process shortcode lookup
    yield
    connection.set_schema_to_public()


@pytest.fixture
def daytime():
    """Noon in Nairobi on a Wednesday: outside quiet hours, so a test of sending does not depend on
    the hour it runs at (quiet hours are 21:00-07:00 Nairobi, 18:00-04:00 UTC)."""
    import time_machine

    with time_machine.travel("2026-11-25T12:00:00+03:00", tick=True):
        yield


@pytest.fixture
def sms_outbox():
    """Read what the file SMS backend wrote (CONTRACT.md format), newest last."""
    path = Path(settings.SMS_FILE_PATH)
    path.write_text("")

    def read() -> list[dict]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    return read


@pytest.fixture
def in_schema():
    return schema_context
