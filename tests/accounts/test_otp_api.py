"""Phone OTP login over HTTP (CONTRACT.md: /api/v1/auth/*), against real PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from accounts.factories import UserFactory
from accounts.models import SmsDevice, User
from tests.accounts.conftest import code_from
from tests.conftest import ORG_PHONE

MEMBER = "+254712345678"


@pytest.fixture
def member(tenant):
    return UserFactory(phone_number=MEMBER, name="Wanjiru Kamau")


def send(client, phone, **extra):
    return client.post("/api/v1/auth/send-otp", {"phone_number": phone}, format="json", **extra)


def verify(client, phone, code):
    return client.post("/api/v1/auth/verify-otp", {"phone_number": phone, "code": code}, format="json")


def wrong_code(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


def test_full_otp_flow_gives_tokens_that_work_and_refresh(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    response = send(client, "0712 345 678")  # typed the local way
    assert response.status_code == 202
    (sms,) = sms_outbox()
    assert sms["to"] == MEMBER and sms["organization"] == org.slug
    assert org.name in sms["message"] and "5 minutes" in sms["message"]
    code = code_from(sms)

    # the code is stored hashed, never as typed
    connection.set_tenant(org)
    device = SmsDevice.objects.get(phone_number=MEMBER)
    assert device.token and code not in device.token and len(device.token) == 64

    response = verify(client, "254712345678", code)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"] == {"id": member.pk, "name": "Wanjiru Kamau", "phone_number": MEMBER, "role": "member"}

    me = api_client_for(org)
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/v1/auth/me").json()["phone_number"] == MEMBER

    refreshed = api_client_for(org).post("/api/v1/auth/refresh", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"access"}
    again = api_client_for(org)
    again.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert again.get(f"/api/v1/members/{member.pk}").status_code == 200

    # a used code cannot be used twice
    assert verify(client, MEMBER, code).status_code == 400


@pytest.mark.parametrize("typed", ["0712345678", "712345678", "254712345678", "+254712345678"])
def test_send_accepts_every_common_way_of_typing_a_number(member, org, api_client_for, sms_outbox, typed):
    assert send(api_client_for(org), typed).status_code == 202
    assert [m["to"] for m in sms_outbox()] == [MEMBER]


@pytest.mark.parametrize("typed", ["", "hello", "0712", "+14155550100", "0201234567", "07123456789"])
def test_malformed_number_is_a_400_that_says_why(tenant, org, api_client_for, typed):
    response = send(api_client_for(org), typed)
    assert response.status_code == 400
    assert response.json()["phone_number"][0]


def test_unknown_number_gets_the_same_202_and_no_sms(tenant, org, api_client_for, member, sms_outbox):
    known = send(api_client_for(org), MEMBER)
    unknown = send(api_client_for(org), "+254798765432")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m["to"] for m in sms_outbox()] == [MEMBER]
    assert verify(api_client_for(org), "+254798765432", "123456").status_code == 400


def test_sixth_code_is_refused_even_when_right(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        assert send(client, MEMBER).status_code == 202
        code = code_from(sms_outbox()[-1])
        for attempt in range(5):
            clock.shift(dt.timedelta(seconds=2 ** attempt + 1))  # past django-otp's back-off
            response = verify(client, MEMBER, wrong_code(code))
            assert response.status_code == 400, (attempt, response.content)
            assert response.json()["code"][0]
        clock.shift(dt.timedelta(seconds=60))
        response = verify(client, MEMBER, code)
        assert response.status_code == 429
        assert "Retry-After" in response
        assert "access" not in response.json()


def test_a_try_inside_the_back_off_is_refused_without_spending_a_try(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        send(client, MEMBER)
        code = code_from(sms_outbox()[-1])
        assert verify(client, MEMBER, wrong_code(code)).status_code == 400
        hurried = verify(client, MEMBER, code)  # 0 s later: django-otp wants 1 s
        assert hurried.status_code == 429 and int(hurried["Retry-After"]) >= 1
        clock.shift(dt.timedelta(seconds=2))
        assert verify(client, MEMBER, code).status_code == 200
    connection.set_tenant(org)
    assert SmsDevice.objects.get(phone_number=MEMBER).throttling_failure_count == 0


@pytest.mark.parametrize(("age", "status"), [(dt.timedelta(minutes=5, seconds=1), 400),
                                           (dt.timedelta(minutes=4, seconds=55), 200)],
                         ids=["expired code refused", "still good just before expiry"])
def test_codes_expire_after_five_minutes(member, org, api_client_for, sms_outbox, age, status):
    client = api_client_for(org)
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=False) as clock:
        send(client, MEMBER)
        code = code_from(sms_outbox()[-1])
        clock.shift(age)
        assert verify(client, MEMBER, code).status_code == status


def test_resend_inside_the_cool_down_is_refused(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    assert send(client, MEMBER).status_code == 202
    again = send(client, MEMBER)
    assert again.status_code == 429
    assert 1 <= int(again["Retry-After"]) <= 60
    assert again.json()["detail"]
    assert len(sms_outbox()) == 1
    # the cool-down is per number, whether or not it is a member (no enumeration through 429s)
    assert send(client, "+254798765432").status_code == 202
    assert send(client, "+254798765432").status_code == 429


@override_settings(OTP_RESEND_COOLDOWN_SECONDS=1)
def test_resend_after_the_cool_down_sends_a_new_code_and_the_old_one_dies(member, org, api_client_for, sms_outbox):
    import time

    client = api_client_for(org)
    send(client, MEMBER)
    first = code_from(sms_outbox()[-1])
    time.sleep(1.1)
    assert send(client, MEMBER).status_code == 202
    second = code_from(sms_outbox()[-1])
    if first != second:
        assert verify(client, MEMBER, first).status_code == 400
        import time as _t
        _t.sleep(1.1)  # django-otp back-off after the wrong try
    assert verify(client, MEMBER, second).status_code == 200


@override_settings(OTP_SEND_RATE_PER_PHONE="2/hour", OTP_RESEND_COOLDOWN_SECONDS=0)
def test_sends_per_phone_are_capped(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    statuses = [send(client, MEMBER).status_code for _ in range(4)]
    assert statuses == [202, 202, 429, 429]
    assert len(sms_outbox()) == 2


@override_settings(OTP_SEND_RATE_PER_PHONE="50/hour,3/day", OTP_RESEND_COOLDOWN_SECONDS=0)
def test_every_per_phone_rate_applies(member, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    statuses = [send(client, MEMBER).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]
    assert int(send(client, MEMBER)["Retry-After"]) > 3600


def test_send_flood_from_one_ip_is_limited(tenant, org, api_client_for, sms_outbox, settings):
    from savegame.ratelimit import Rate

    limit = Rate.parse(settings.OTP_SEND_RATE_PER_IP).limit
    client = api_client_for(org)
    phones = [f"+2547{n:08d}" for n in range(limit + 5)]
    statuses = [send(client, phone, REMOTE_ADDR="203.0.113.9").status_code for phone in phones]
    assert statuses[:limit] == [202] * limit
    assert set(statuses[limit:]) == {429}
    # another address is not affected
    assert send(client, "+254700000999", REMOTE_ADDR="203.0.113.10").status_code == 202


def test_forged_forwarded_for_does_not_reset_the_ip_bucket(tenant, org, api_client_for, settings):
    from savegame.ratelimit import Rate

    settings.TRUSTED_PROXY_COUNT = 1
    limit = Rate.parse(settings.OTP_SEND_RATE_PER_IP).limit
    client = api_client_for(org)
    statuses = [
        send(client, f"+2547{n:08d}", REMOTE_ADDR="10.0.0.1",
             HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.50").status_code
        for n in range(limit + 3)
    ]
    assert statuses[limit:] == [429] * 3


def test_open_signup_creates_a_member_on_verify(tenant, org, api_client_for, sms_outbox):
    from tenants.services import organization_update

    stranger = "+254745000111"
    connection.set_schema_to_public()
    organization_update(organization=org, data={"open_signup": True})
    try:
        client = api_client_for(org)
        assert send(client, stranger).status_code == 202
        response = verify(client, stranger, code_from(sms_outbox()[-1]))
        assert response.status_code == 200
        assert response.json()["user"]["role"] == "member"
        connection.set_tenant(org)
        user = User.objects.get(phone_number=stranger)
        assert user.role == "member" and user.account_code
    finally:
        connection.set_schema_to_public()
        org.refresh_from_db()
        organization_update(organization=org, data={"open_signup": False})


def test_closed_signup_never_creates_members(tenant, org, api_client_for, sms_outbox):
    client = api_client_for(org)
    send(client, "+254745000222")
    assert sms_outbox() == []
    connection.set_tenant(org)
    assert not User.objects.filter(phone_number="+254745000222").exists()


@pytest.fixture(params=[False, True], ids=["closed sign-up", "open sign-up"])
def signup_mode(request, org):
    from tenants.services import organization_update

    connection.set_schema_to_public()
    organization_update(organization=org, data={"open_signup": request.param})
    yield request.param
    connection.set_schema_to_public()
    org.refresh_from_db()
    organization_update(organization=org, data={"open_signup": False})


def test_removed_member_cannot_log_in(member, org, api_client_for, sms_outbox, signup_mode):
    client = api_client_for(org)
    send(client, MEMBER)
    code = code_from(sms_outbox()[-1])
    connection.set_tenant(org)
    member.is_active = False
    member.save()
    assert verify(client, MEMBER, code).status_code == 400
    from savegame.redis import redis_client

    redis_client().flushdb()  # past the cool-down
    connection.set_tenant(org)
    SmsDevice.objects.update(last_generated_timestamp=None)
    assert send(client, MEMBER).status_code == 202
    assert len(sms_outbox()) == 1  # no new code for a removed member, even with open sign-up
    connection.set_tenant(org)
    assert User.objects.filter(phone_number=MEMBER).count() == 1


def test_org_admin_logs_in_with_the_admin_role(tenant, org, login):
    body = login(org, ORG_PHONE)
    assert body["user"]["role"] == "org_admin"


def test_org_a_token_is_refused_on_org_b(tenant, org, other_org, api_client_for, login):
    tokens = login(org, ORG_PHONE)
    # user ids collide across schemas (both orgs' admins are id 1): without the org claim this would pass
    on_b = api_client_for(other_org)
    on_b.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = on_b.get("/api/v1/members")
    assert response.status_code == 401
    assert response.json()["detail"]
    refresh_on_b = api_client_for(other_org).post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refresh_on_b.status_code == 401
    on_a = api_client_for(org)
    on_a.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert on_a.get("/api/v1/members").status_code == 200


def test_logout_blacklists_the_refresh_token(tenant, org, api_client_for, login):
    tokens = login(org, ORG_PHONE)
    client = api_client_for(org)
    assert client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    assert client.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_garbage_tokens_are_401_json(tenant, org, api_client_for):
    client = api_client_for(org)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.get("/api/v1/members")
    assert response.status_code == 401 and response.json()["detail"]
    refresh = api_client_for(org).post("/api/v1/auth/refresh", {"refresh": "nope"}, format="json")
    assert refresh.status_code == 401 and refresh.json()["detail"]


def test_a_removed_members_tokens_stop_working(member, org, api_client_for, login):
    tokens = login(org, MEMBER)
    connection.set_tenant(org)
    User.objects.filter(pk=member.pk).update(is_active=False)
    client = api_client_for(org)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/auth/me").status_code == 401
    refresh = api_client_for(org).post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refresh.status_code == 401


def test_without_redis_no_code_goes_out_and_the_answer_is_503(member, org, api_client_for, sms_outbox, monkeypatch):
    import redis

    import accounts.services

    def down(buckets):
        raise redis.ConnectionError("redis is down")

    monkeypatch.setattr(accounts.services, "buckets_hit", down)
    response = send(api_client_for(org), MEMBER)
    assert response.status_code == 503 and response["Retry-After"] == "5" and response.json()["detail"]
    assert sms_outbox() == []
