"""Security headers on every answer, and no debug page for a remote caller (issue 14, item 11)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings


def test_pages_api_and_hooks_carry_the_security_headers(tenant, org):
    client = Client(HTTP_HOST=f"{org.slug}.localhost")
    for response in (client.get("/login/"), client.get("/api/v1/challenges"), client.post("/hooks/pay/x/c2b/confirmation")):
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in response["Permissions-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.urls("tests.security.urls_boom_pages")
@override_settings(DEBUG=True)
def test_a_500_never_shows_the_debug_page_to_a_remote_caller(tenant, org):
    remote = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.5", raise_request_exception=False)
    response = remote.get("/boom/")
    assert response.status_code == 500
    assert b"secret-settings" not in response.content and b"Traceback" not in response.content
    assert b"DATABASES" not in response.content
    local = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="127.0.0.1", raise_request_exception=False)
    assert b"secret-settings" in local.get("/boom/").content  # make run's own browser keeps it


@override_settings(DEBUG=True)
def test_hooks_never_show_the_debug_page_even_locally(tenant, org, monkeypatch):
    import payments.hooks

    def crash(**kwargs):
        raise RuntimeError("secret-settings-and-stack-trace")

    monkeypatch.setattr(payments.hooks, "callback_store", crash)
    local = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="127.0.0.1", raise_request_exception=False)
    response = local.post("/hooks/pay/x/c2b/confirmation", b'{"TransID": "RKT1"}', content_type="application/json")
    assert response.status_code == 500 and b"secret-settings" not in response.content
    assert response.json() == {"detail": "Internal server error."}
