"""The inbox insert runs as a server-side prepared statement (savegame.prepared): one plan serves every
organization on a connection, a token only opens its own organization's inbox, and a body PostgreSQL
refuses is still a 400 that stores nothing."""

from __future__ import annotations

import json

from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from payments.models import CallbackInbox, MpesaSettings
from tests.conftest import host_of
from tests.payments.conftest import c2b_payload
from tests.payments.conftest import count_in as _count


def _store(schema: str, token: str, trans_id: str) -> tuple[bool, int | None]:
    from payments.inbox import callback_store

    with schema_context(schema):
        return callback_store(kind="confirmation", body=c2b_payload(trans_id=trans_id), token=token)


def _prepared_inbox_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql AND statement LIKE %s",
                       ["%INSERT INTO payments_callbackinbox%"])
        return cursor.fetchone()[0]


def test_one_prepared_insert_serves_every_organization_and_never_crosses_them(tenant, org, other_org, settings):
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    ours = MpesaSettings.objects.get().callback_token
    with schema_context(other_org.schema_name):
        theirs = MpesaSettings.objects.get().callback_token
    assert _prepared_inbox_statements() == 0
    for n in range(threshold + 3):  # the two organizations take turns on this one connection
        assert _store(org.schema_name, ours, f"RKTPREPA{n:02d}")[1] is not None
        assert _store(other_org.schema_name, theirs, f"RKTPREPB{n:02d}")[1] is not None
        assert _store(org.schema_name, theirs, f"RKTPREPX{n:02d}") == (False, None)  # their token, our inbox
        assert _store(other_org.schema_name, ours, f"RKTPREPY{n:02d}") == (False, None)
        assert _store(org.schema_name, ours, f"RKTPREPA{n:02d}") == (True, None)  # a replay
    assert _prepared_inbox_statements() == 1  # really prepared, and one statement for both schemas
    with schema_context(org.schema_name):
        keys = set(CallbackInbox.objects.values_list("natural_key", flat=True))
    with schema_context(other_org.schema_name):
        their_keys = set(CallbackInbox.objects.values_list("natural_key", flat=True))
    assert keys == {f"RKTPREPA{n:02d}" for n in range(threshold + 3)}
    assert their_keys == {f"RKTPREPB{n:02d}" for n in range(threshold + 3)}


def test_a_body_postgresql_refuses_is_a_400_that_stores_nothing_once_prepared(live_org, settings):
    """JSON that parses in Python but not as jsonb (an escaped NUL) fails inside the prepared statement:
    still a 400 for the organization's own sender, nothing stored, and the connection serves the next one."""
    org, member, token = live_org
    client = Client(HTTP_HOST=host_of(org))
    path = f"/hooks/pay/{token}/c2b/confirmation"

    def post(body: dict):
        return client.post(path, data=json.dumps(body), content_type="application/json")

    for n in range(settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"] + 1):
        assert post(c2b_payload(trans_id=f"RKTNUL00{n}", bill_ref=member.account_code, shortcode="600999")).status_code == 200
    assert _prepared_inbox_statements() == 1
    poisoned = {**c2b_payload(trans_id="RKTNULBAD", bill_ref=member.account_code, shortcode="600999"), "FirstName": "Ja\u0000ne"}
    response = post(poisoned)
    assert response.status_code == 400 and response.json()["ResultCode"] == 1
    assert post(c2b_payload(trans_id="RKTNULAFTER", bill_ref=member.account_code, shortcode="600999")).status_code == 200
    assert _count(org.schema_name, CallbackInbox, natural_key="RKTNULBAD") == 0
    assert _count(org.schema_name, CallbackInbox, natural_key="RKTNULAFTER") == 1
