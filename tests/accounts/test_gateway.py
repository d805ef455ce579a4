"""API gateway behaviour: JSON errors everywhere under /api/, atomic Redis rate limits, CORS, request ids."""

from __future__ import annotations

import http.client
import json
import threading

import pytest
from django.test import Client, override_settings

from accounts.factories import UserFactory
from savegame.ratelimit import Bucket, Rate, buckets_hit


def assert_json_error(response, status):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body, body
    text = json.dumps(body)
    assert "Traceback" not in text and "secret-sql" not in text
    return body


def test_unknown_api_path_is_json_404(tenant, org, client_for):
    assert_json_error(client_for(org).get("/api/v1/no-such-thing"), 404)
    assert_json_error(client_for(org).get("/api/nothing/here/"), 404)


def test_missing_member_is_json_404(org_admin, org, api_client_for):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    assert_json_error(client.get("/api/v1/members/999999"), 404)
    assert_json_error(client.get("/api/v1/members/not-a-number"), 404)


def test_wrong_method_is_json_405(tenant, org, api_client_for):
    body = assert_json_error(api_client_for(org).get("/api/v1/auth/send-otp"), 405)
    assert body["detail"]


def test_no_credentials_is_json_401(tenant, org, api_client_for):
    response = api_client_for(org).get("/api/v1/members")
    assert_json_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_member_on_admin_endpoint_is_json_403(tenant, org, api_client_for):
    client = api_client_for(org)
    client.force_authenticate(UserFactory())
    assert_json_error(client.get("/api/v1/members"), 403)


def test_bad_body_is_json_400_naming_the_field(tenant, org, api_client_for):
    body = assert_json_error(api_client_for(org).post("/api/v1/auth/send-otp", {}, format="json"), 400)
    assert "phone_number" in body
    raw = api_client_for(org).post("/api/v1/auth/send-otp", "{not json", content_type="application/json")
    assert_json_error(raw, 400)


def test_oversized_and_overstuffed_bodies_are_client_errors_not_500(tenant, org, api_client_for):
    huge = '{"phone_number": "' + "1" * 3_000_000 + '"}'
    assert_json_error(api_client_for(org).post("/api/v1/auth/send-otp", huge, content_type="application/json"), 413)
    stuffed = api_client_for(org).post("/api/v1/auth/send-otp", {"field": ["1"] * 2000}, format="multipart")
    assert_json_error(stuffed, 400)


def test_rate_limited_is_json_429_with_retry_after(tenant, org):
    with override_settings(API_RATE_PER_IP="3/min"):
        client = Client(HTTP_HOST=f"{org.slug}.localhost")
        statuses = [client.get("/api/v1/members").status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        response = client.get("/api/v1/members")
        assert_json_error(response, 429)
        assert 1 <= int(response["Retry-After"]) <= 60
        # pages are not counted
        assert client.get("/login/").status_code != 429


def test_drf_crash_is_json_500_without_internals(org_admin, org, api_client_for, monkeypatch):
    import accounts.selectors

    def explode(**kwargs):
        raise RuntimeError("secret-sql-and-stack-trace")

    monkeypatch.setattr(accounts.selectors, "member_list", explode)
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    assert_json_error(client.get("/api/v1/members"), 500)


@pytest.mark.urls("tests.accounts.urls_boom")
def test_plain_django_crash_under_api_is_json_500(tenant, org):
    client = Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False)
    assert_json_error(client.get("/api/v1/test-boom"), 500)


def test_pages_keep_their_html_errors(tenant, org, client_for):
    response = client_for(org).get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_request_id_is_echoed(tenant, org, api_client_for):
    response = api_client_for(org).get("/api/v1/members", HTTP_X_REQUEST_ID="abc123")
    assert response["X-Request-ID"] == "abc123"


def test_per_org_bucket_counts_across_addresses(tenant, org, other_org):
    with override_settings(API_RATE_PER_ORG="4/min"):
        statuses = [Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR=f"198.51.100.{n}").get("/api/v1/members")
                    .status_code for n in range(6)]
        assert statuses == [401] * 4 + [429] * 2
        # another organization has its own bucket
        assert Client(HTTP_HOST=f"{other_org.slug}.localhost").get("/api/v1/members").status_code == 401


def test_ip_refusals_do_not_spend_the_org_bucket(tenant, org):
    with override_settings(API_RATE_PER_IP="2/min", API_RATE_PER_ORG="5/min"):
        noisy = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.66")
        assert [noisy.get("/api/v1/members").status_code for _ in range(20)].count(401) == 2
        quiet = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.67")
        assert [quiet.get("/api/v1/members").status_code for _ in range(2)] == [401, 401]


def test_hooks_have_their_own_generous_bucket(tenant, org):
    with override_settings(API_RATE_PER_IP="2/min", HOOK_RATE_PER_IP="50/min"):
        client = Client(HTTP_HOST=f"{org.slug}.localhost")
        for _ in range(3):
            client.get("/api/v1/members")
        assert client.get("/api/v1/members").status_code == 429
        hooks = [client.post("/hooks/pay/x/confirmation", "{}", content_type="application/json").status_code
                 for _ in range(10)]
        assert 429 not in hooks
    with override_settings(HOOK_RATE_PER_IP="3/min"):
        client = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.77")
        hooks = [client.post("/hooks/pay/x/confirmation", "{}", content_type="application/json").status_code
                 for _ in range(5)]
        assert hooks[3:] == [429, 429]


def test_rate_parsing():
    assert Rate.parse("100/min") == Rate(100, 60)
    assert Rate.parse("20/10min") == Rate(20, 600)
    assert Rate.parse("5/hour") == Rate(5, 3600)
    assert Rate.parse("1000/m") == Rate(1000, 60)
    with pytest.raises(ValueError):
        Rate.parse("lots")


def test_buckets_are_atomic_under_threads(db):
    rate = Rate(limit=50, window_seconds=60)
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(40)

    def worker():
        barrier.wait()
        for _ in range(5):
            verdict = buckets_hit([Bucket("sg:test:rl:atomic", rate)])
            with lock:
                results.append(verdict.allowed)

    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 50 and len(results) == 200


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.co.ke"])
def test_cors_only_for_configured_origins(tenant, org, client_for):
    client = client_for(org)
    allowed = client.options("/api/v1/auth/send-otp", HTTP_ORIGIN="https://app.example.co.ke",
                             HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.co.ke"
    denied = client.options("/api/v1/auth/send-otp", HTTP_ORIGIN="https://evil.example.com",
                            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in denied


# --- a real server, real sockets, real concurrency ---------------------------------------------

def test_500_concurrent_requests_from_one_ip_let_at_most_100_through(committed_org, live_server_url, settings):
    port = live_server_url
    host = f"{committed_org.slug}.localhost"
    limit = Rate.parse(settings.API_RATE_PER_IP).limit
    assert limit == 100
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(500)

    def fire():
        barrier.wait()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", "/api/v1/members", headers={"Host": host})
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = -1
        finally:
            conn.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=fire) for _ in range(500)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 500
    assert -1 not in statuses, "the server dropped connections"
    through = [s for s in statuses if s != 429]
    assert len(through) <= limit
    assert len(through) == limit, statuses  # atomic: exactly the first 100, not fewer
    assert set(through) == {401}


def test_each_api_request_is_logged_with_org_and_request_id(tenant, org, api_client_for, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="savegame.request")
    api_client_for(org).get("/api/v1/members", HTTP_X_REQUEST_ID="req-42")
    (record,) = [r for r in caplog.records if r.name == "savegame.request"]
    assert record.schema == org.schema_name and record.request_id == "req-42" and record.status == 401


def test_unknown_host_under_api_is_json_404(db):
    assert_json_error(Client(HTTP_HOST="nobody.localhost").get("/api/v1/members"), 404)


def test_limiter_fails_open_when_redis_is_down(tenant, org, monkeypatch):
    import redis

    import savegame.ratelimit

    def down(buckets):
        raise redis.ConnectionError("redis is down")

    monkeypatch.setattr(savegame.ratelimit, "buckets_hit", down)
    with override_settings(API_RATE_PER_IP="1/min"):
        client = Client(HTTP_HOST=f"{org.slug}.localhost")
        assert [client.get("/api/v1/members").status_code for _ in range(3)] == [401, 401, 401]
