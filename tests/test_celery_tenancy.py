"""A task sent inside tenant A runs in A's schema on a real worker over the real Redis broker."""

import pytest
from celery.contrib.testing.worker import start_worker
from django_tenants.utils import schema_context

from accounts.factories import UserFactory
from savegame.celery import app


@app.task(name="tests.schema_probe", acks_late=True, time_limit=30)
def member_count() -> dict:
    """Which schema a worker ran this in and the users it sees there (a test probe: it returns every
    phone number, so it lives here, not in production code)."""
    from django.db import connection

    from accounts.models import User

    return {"schema": connection.schema_name, "users": User.objects.count(),
            "phones": sorted(User.objects.values_list("phone_number", flat=True))}


@pytest.fixture
def worker(committed_org):
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def test_task_sent_in_a_tenant_reads_that_tenants_rows(committed_org, worker, other_org):
    with schema_context(committed_org.schema_name):
        UserFactory(phone_number="+254744000111")
        result_a = member_count.delay()
    with schema_context(other_org.schema_name):
        result_b = member_count.delay()
    got_a = result_a.get(timeout=20)
    assert got_a["schema"] == committed_org.schema_name
    assert "+254744000111" in got_a["phones"]
    got_b = result_b.get(timeout=20)
    assert got_b["schema"] == other_org.schema_name and "+254744000111" not in got_b["phones"]
