"""Deeply nested JSON is a 400 (or the wrong-secret 404) everywhere, never a 500 or a debug page
(issue 14, item 4), and such refusals count against the /hooks/ limiter like any other."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from payments.models import MpesaSettings
from payments.selectors import CALLBACK_PATHS

DEEP_LIST = b"[" * 20000
DEEP_OBJECT = b'{"a":' * 20000 + b"1" + b"}" * 20000
BOMBS = [DEEP_LIST, DEEP_OBJECT]


def _client(org, **extra) -> Client:
    return Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False, **extra)


@pytest.fixture
def token(tenant):
    return MpesaSettings.objects.get().callback_token


@pytest.mark.parametrize("bomb", BOMBS)
@pytest.mark.parametrize("kind", sorted(CALLBACK_PATHS))
@override_settings(DEBUG=True)
def test_callbacks_answer_400_or_404_to_nested_json_and_never_show_a_debug_page(tenant, org, token, kind, bomb):
    for secret, expected in ((token, 400), ("not-the-secret", 404)):
        response = _client(org).post(f"/hooks/pay/{secret}/{CALLBACK_PATHS[kind]}", bomb,
                                     content_type="application/json")
        assert response.status_code == expected, (kind, secret)
        assert b"Traceback" not in response.content and b"DATABASES" not in response.content


@pytest.mark.parametrize("bomb", BOMBS)
@pytest.mark.parametrize("path", ["/api/v1/auth/send-otp", "/api/v1/auth/verify-otp", "/api/v1/auth/refresh",
                                  "/api/v1/auth/logout"])
@override_settings(DEBUG=True)
def test_auth_endpoints_answer_400_to_nested_json(tenant, org, path, bomb):
    response = _client(org).post(path, bomb, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"]


@pytest.mark.parametrize("bomb", BOMBS)
@override_settings(DEBUG=True)
def test_authenticated_json_bodies_answer_400_to_nested_json(tenant, org, org_admin, api_client_for, bomb):
    client = api_client_for(org)
    client.force_authenticate(org_admin)
    client.raise_request_exception = False
    for method, path in (("post", "/api/v1/members"), ("patch", "/api/v1/organizations/current"),
                         ("post", "/api/v1/challenges"), ("patch", "/api/v1/notification-preferences")):
        response = getattr(client, method)(path, bomb, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code, response.content[:200])


@override_settings(HOOK_RATE_PER_IP="2/min")
def test_nested_json_refusals_count_against_the_hooks_limiter(tenant, org):
    prober = _client(org, REMOTE_ADDR="203.0.113.77")
    statuses = [prober.post("/hooks/pay/not-the-secret/c2b/confirmation", DEEP_LIST,
                            content_type="application/json").status_code for _ in range(4)]
    assert statuses == [404, 404, 429, 429]
