"""An access token stops working at logout (issue 14, item 11): Redis denylist keyed by jti."""

from __future__ import annotations

from django.test import Client

from accounts.authentication import tokens_for_user


def _me(org, access: str) -> int:
    return Client(HTTP_HOST=f"{org.slug}.localhost").get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def test_logout_stops_the_access_token_sent_with_it_and_those_of_its_refresh_token(tenant, org, org_admin):
    pair = tokens_for_user(org_admin)
    other = tokens_for_user(org_admin)  # another device: unaffected
    assert _me(org, pair["access"]) == 200
    client = Client(HTTP_HOST=f"{org.slug}.localhost")
    refreshed = client.post("/api/v1/auth/refresh", {"refresh": pair["refresh"]}, content_type="application/json")
    second_access = refreshed.json()["access"]
    assert _me(org, second_access) == 200
    out = client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert out.status_code == 204
    assert _me(org, pair["access"]) == 401
    assert _me(org, second_access) == 401  # minted from the logged-out refresh token
    assert _me(org, other["access"]) == 200


def test_logout_without_the_access_header_still_stops_its_access_tokens(tenant, org, org_admin):
    pair = tokens_for_user(org_admin)
    client = Client(HTTP_HOST=f"{org.slug}.localhost")
    assert client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]},
                       content_type="application/json").status_code == 204
    assert _me(org, pair["access"]) == 401
