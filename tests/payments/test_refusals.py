"""Refused callbacks: recorded (bounded) for the admins, never in the inbox, never a stranger's body."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client

from payments.models import CallbackInbox, Transaction
from payments.platform.models import RefusedCallback
from tests.payments.conftest import c2b_payload

BAD_FIELDS = b'{"TransactionType": "Pay Bill", "TransID": "RKTBAD0001", "TransTime": "yesterday", "TransAmount": "10"}'


def _refusals(org):
    return list(RefusedCallback.objects.filter(organization_id=org.pk).order_by("id"))


def test_malformed_callbacks_from_the_orgs_sender_are_recorded_with_an_excerpt(hook, org):
    assert hook("confirmation", None, raw=b"{not json").status_code == 400
    assert hook("stk_callback", None, raw=BAD_FIELDS).status_code == 400
    assert hook("confirmation", None, raw=b"x" * (64 * 1024 + 1)).status_code == 400
    bad_json, bad_fields, too_large = _refusals(org)
    assert (bad_json.kind, bad_json.reason, bad_json.status_code) == ("confirmation", "bad_json", 400)
    assert bad_json.body_excerpt == "{not json" and bad_json.remote_ip == "127.0.0.1" and bad_json.detail
    assert (bad_fields.kind, bad_fields.reason) == ("stk_callback", "bad_payload")
    assert "Body" in bad_fields.detail and bad_fields.body_excerpt.startswith('{"TransactionType"')
    assert (too_large.reason, too_large.body_bytes, len(too_large.body_excerpt)) == ("too_large", 64 * 1024 + 1, 300)
    assert not CallbackInbox.objects.exists() and not Transaction.objects.exists()


def test_a_stranger_leaves_no_body_behind(hook, org, member, settings):
    body = c2b_payload(trans_id="RKTSTRANGE", bill_ref=member.account_code)
    assert hook("confirmation", body, token="not-the-secret").status_code == 404
    # A broken body without the secret: the same 404 as any wrong secret, not a parser's hint.
    assert hook("confirmation", None, token="not-the-secret", raw=b"{not json").status_code == 404
    settings.MPESA_ALLOWED_IPS = ["196.201.214.200"]
    assert hook("confirmation", body).status_code == 403
    wrong, wrong_broken, forbidden = _refusals(org)
    assert [r.reason for r in (wrong, wrong_broken, forbidden)] == ["wrong_token", "wrong_token", "forbidden_ip"]
    assert all(r.body_excerpt == "" for r in (wrong, wrong_broken, forbidden))
    assert wrong.body_bytes == len(json.dumps(body)) and forbidden.status_code == 403
    assert not CallbackInbox.objects.exists()


def test_a_flood_records_a_bounded_number_of_rows(hook, org, settings):
    settings.PAYMENTS_REFUSALS_RATE = "3/min"
    for _ in range(6):
        assert hook("confirmation", None, raw=b"{not json").status_code == 400
    assert len(_refusals(org)) == 3  # the rest are only logged


def test_only_the_newest_rows_are_kept(hook, org, other_org, settings):
    settings.PAYMENTS_REFUSALS_KEEP = 2
    RefusedCallback.objects.create(organization=other_org, kind="confirmation", reason="bad_json", status_code=400)
    for n in range(4):
        hook("confirmation", None, raw=f'{{"n": {n}'.encode())
    assert [r.body_excerpt for r in _refusals(org)] == ['{"n": 2', '{"n": 3']
    assert RefusedCallback.objects.filter(organization=other_org).count() == 1  # another org's rows untouched


def test_redis_down_means_logged_but_not_recorded(hook, org, monkeypatch):
    import savegame.ratelimit

    def down(buckets):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(savegame.ratelimit, "buckets_hit", down)
    assert hook("confirmation", None, raw=b"{not json").status_code == 400  # still answered
    assert _refusals(org) == []


def test_org_admin_sees_their_refusals_in_english_and_kiswahili(hook, client_for, org, other_org, org_admin):
    client = client_for(org)
    client.force_login(org_admin)
    html = client.get("/manage/mpesa/").content.decode()
    assert "Refused callbacks" in html and "No refused callbacks" in html  # the empty state
    connection.set_tenant(org)
    RefusedCallback.objects.create(organization=other_org, kind="confirmation", reason="bad_json", status_code=400,
                                   body_excerpt="OTHER-ORGS-BODY")
    hook("confirmation", None, raw=b'{"TransID": "<script>x</script>"')
    hook("confirmation", c2b_payload(trans_id="RKTSTRANGE"), token="not-the-secret")
    html = client.get("/manage/mpesa/").content.decode()
    assert "Not valid JSON" in html and "Wrong callback secret" in html and "No refused callbacks" not in html
    assert "&lt;script&gt;" in html and "<script>x" not in html  # shown, escaped
    assert "OTHER-ORGS-BODY" not in html
    assert "bytes, not kept" in html
    org_admin.language = "sw"
    org_admin.save(update_fields=["language"])
    html = client.get("/manage/mpesa/").content.decode()
    assert "Callback zilizokataliwa" in html and "Si JSON halali" in html


def test_platform_owner_sees_every_orgs_refusals_in_admin(db, org, other_org):
    from accounts.models import User

    RefusedCallback.objects.create(organization=org, kind="confirmation", reason="wrong_token", status_code=404,
                                   remote_ip="203.0.113.9")
    RefusedCallback.objects.create(organization=other_org, kind="stk_callback", reason="bad_json", status_code=400)
    owner = User.objects.create_superuser("+254799000001", password="a-long-platform-password")
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    page = client.get("/admin/payments_platform/refusedcallback/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "203.0.113.9" in html and "Alpha Chama" in html and "Beta SACCO" in html
    assert client.get("/admin/payments_platform/refusedcallback/add/").status_code == 403


@pytest.mark.parametrize("raw", [b"{not json", BAD_FIELDS])
def test_refusal_answer_keeps_darajas_shape(hook, raw):
    response = hook("confirmation", None, raw=raw)
    assert response.status_code == 400 and response.json()["ResultCode"] == 1
    assert response.json()["ResultDesc"].startswith("Malformed payload")
