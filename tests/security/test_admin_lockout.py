"""The platform admin's password login is throttled per account and per address (django-axes), and
every attempt is in the audit log (issue 14, item 6)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent, User

PHONE, PASSWORD = "+254799000011", "a-long-platform-password"


@pytest.fixture
def owner(db, org):
    connection.set_schema_to_public()
    return User.objects.create_superuser(PHONE, password=PASSWORD)


def _login(ip: str, username: str, password: str):
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"})
    return client, response


def _signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def test_wrong_passwords_lock_the_account_even_for_the_right_password(owner, settings):
    statuses = [_login(f"203.0.113.{n + 1}", PHONE, "wrong")[1].status_code  # a new address each time
                for n in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form again, then locked
    client, response = _login("203.0.113.99", PHONE, PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
    connection.set_schema_to_public()
    # every attempt is there, the refused right password too
    assert AuditEvent.objects.filter(action="admin.login_failed").count() == settings.AXES_FAILURE_LIMIT + 1
    assert AuditEvent.objects.filter(action="admin.locked_out").exists()
    failed = AuditEvent.objects.filter(action="admin.login_failed").first()
    assert failed.ip_address and failed.actor_label == PHONE


def test_one_address_trying_many_accounts_is_locked_out(owner, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        _login("198.51.100.7", f"+25479900{n:04d}", "guess")
    client, response = _login("198.51.100.7", PHONE, PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
    # another address, the right password: in, and audited
    client, response = _login("198.51.100.8", PHONE, PASSWORD)
    assert response.status_code == 302 and _signed_in(client)
    connection.set_schema_to_public()
    assert AuditEvent.objects.filter(action="admin.login", actor=owner).exists()


def test_sixty_wrong_then_the_right_one_is_refused(owner):
    for _ in range(60):
        _login("192.0.2.10", PHONE, "nope")
    client, response = _login("192.0.2.10", PHONE, PASSWORD)
    assert response.status_code == 429 and not _signed_in(client)
