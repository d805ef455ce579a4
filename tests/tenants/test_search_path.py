"""savegame/db/base.py: django-tenants' backend that skips a `SET search_path` the server session
already has (issue 13), and never skips one the server may have lost."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.conftest import ORG_PHONE, OTHER_ORG_PHONE


def _sets(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SET search_path")]


def test_setting_the_same_tenant_again_issues_no_statement(db, org, other_org):
    connection.set_tenant(org)
    assert User.objects.filter(phone_number=ORG_PHONE).exists()
    with CaptureQueriesContext(connection) as queries:
        connection.set_schema_to_public()  # what the middleware does at the start of every request
        connection.set_tenant(org)
        assert User.objects.filter(phone_number=ORG_PHONE).exists()
    assert _sets(queries) == []
    with CaptureQueriesContext(connection) as queries:
        connection.set_tenant(other_org)  # another organization: set, and its rows are read
        assert User.objects.filter(phone_number=OTHER_ORG_PHONE).exists()
        assert not User.objects.filter(phone_number=ORG_PHONE).exists()
    assert _sets(queries) == ['SET search_path = "org_beta","public"']


def test_a_rolled_back_savepoint_that_undid_a_set_is_set_again(db, org, other_org):
    connection.set_tenant(org)
    assert User.objects.filter(phone_number=ORG_PHONE).exists()
    with CaptureQueriesContext(connection) as queries:
        with pytest.raises(RuntimeError), transaction.atomic():
            connection.set_tenant(other_org)  # SET inside the savepoint ...
            assert User.objects.filter(phone_number=OTHER_ORG_PHONE).exists()
            raise RuntimeError  # ... which the rollback to it undoes: the server is back on org_alpha
        connection.set_tenant(other_org)
        assert User.objects.filter(phone_number=OTHER_ORG_PHONE).exists()  # really in org_beta
    statements = [q["sql"] for q in queries.captured_queries]
    after = statements[next(i for i, sql in enumerate(statements) if sql.startswith("ROLLBACK TO SAVEPOINT")):]
    assert 'SET search_path = "org_beta","public"' in after, statements
