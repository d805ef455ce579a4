"""The lean path for /hooks/: routed by host (a per-process cache), past the site's middleware,
with the hooks' rate limits and the views' own checks intact."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from payments.models import CallbackInbox, MpesaSettings
from tenants.models import Domain
from tenants.selectors import organization_for_host_local
from tenants.services import domain_add, organization_cache_clear
from tests.payments.conftest import c2b_payload


@pytest.fixture
def token(tenant):
    return MpesaSettings.objects.get().callback_token


def _post(client, token, trans_id="RKTLEAN001", **extra):
    return client.post(f"/hooks/pay/{token}/c2b/confirmation", json.dumps(c2b_payload(trans_id=trans_id)),
                       content_type="application/json", **extra)


def test_a_callback_skips_sessions_locale_and_auth(tenant, org, token,
                                                   django_capture_on_commit_callbacks):
    client = Client(HTTP_HOST=f"{org.slug}.localhost", HTTP_COOKIE="sessionid=abc; django_language=sw")
    with django_capture_on_commit_callbacks(execute=False):
        _post(client, token, trans_id="RKTWARM001")  # the first callback looks the host up
    with django_capture_on_commit_callbacks(execute=False), CaptureQueriesContext(connection) as queries:
        response = _post(client, token)  # then one SQL statement: the secret check and the insert together
    # Inside a test's transaction the insert runs in a savepoint (so a body the database refuses cannot
    # break the transaction around it); under autocommit, as served, there is no savepoint.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(statements) == 1, statements
    assert response.status_code == 200 and response.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}
    assert "Content-Language" not in response  # the locale middleware never ran
    assert "Cookie" not in response.get("Vary", "") and not response.cookies  # nor sessions, CSRF, messages
    assert response["X-Request-ID"]  # the request log still wraps it
    assert not hasattr(response.wsgi_request, "user") and not hasattr(response.wsgi_request, "session")
    assert CallbackInbox.objects.filter(natural_key="RKTLEAN001").exists()


def test_site_pages_still_get_the_full_stack(tenant, org):
    response = Client(HTTP_HOST=f"{org.slug}.localhost").get("/")
    assert "Content-Language" in response and hasattr(response.wsgi_request, "user")


def test_host_lookup_is_kept_per_process_and_forgotten_on_change(tenant, org, settings, monkeypatch):
    import time

    import tenants.selectors

    first = organization_for_host_local(hostname="alpha.localhost")
    assert organization_for_host_local(hostname="ALPHA.localhost") is first  # cached, case-insensitive
    organization_cache_clear(organization=org)  # what every tenants.services change does, in this process
    again = organization_for_host_local(hostname="alpha.localhost")
    assert again is not first
    # Another process only learns of the change when its copy expires: within TENANT_HOST_LOCAL_CACHE_SECONDS.
    later = time.monotonic() + settings.TENANT_HOST_LOCAL_CACHE_SECONDS - 0.5
    monkeypatch.setattr(tenants.selectors.time, "monotonic", lambda: later)
    assert organization_for_host_local(hostname="alpha.localhost") is again
    later += 1
    assert organization_for_host_local(hostname="alpha.localhost") is not again


def test_a_removed_domain_stops_answering(tenant, org, token):
    domain_add(organization=org, domain="pay.alpha.localhost")
    client = Client(HTTP_HOST="pay.alpha.localhost")
    assert _post(client, token, trans_id="RKTDOM0001").status_code == 200
    Domain.objects.filter(domain="pay.alpha.localhost").delete()
    organization_cache_clear(organization=org, removed_domains=["pay.alpha.localhost"])
    assert _post(client, token, trans_id="RKTDOM0002").status_code == 404
    connection.set_tenant(org)
    assert not CallbackInbox.objects.filter(natural_key="RKTDOM0002").exists()


def test_unknown_and_platform_hosts_fall_through_to_the_full_stack(db, org):
    unknown = Client(HTTP_HOST="nobody.localhost").post("/hooks/pay/x/c2b/confirmation", "{}",
                                                        content_type="application/json")
    assert unknown.status_code == Client(HTTP_HOST="nobody.localhost").get("/").status_code == 404
    platform = Client(HTTP_HOST="localhost").post("/hooks/pay/x/c2b/confirmation", "{}",
                                                  content_type="application/json")
    assert platform.status_code == 404
    assert Client(HTTP_HOST="evil.example").post("/hooks/pay/x/c2b/confirmation").status_code in (400, 404)


def test_unknown_hook_paths_are_404(tenant, org):
    assert Client(HTTP_HOST=f"{org.slug}.localhost").post("/hooks/pay/x/nothing").status_code == 404


@override_settings(HOOK_RATE_PER_IP="2/min", MPESA_ALLOWED_IPS=["196.201.214.200"])
def test_safaricoms_allow_listed_addresses_are_never_rate_limited(tenant, org, token):
    safaricom = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="196.201.214.200")
    statuses = [_post(safaricom, token, trans_id=f"RKTBURST{n:02d}").status_code for n in range(6)]
    assert statuses == [200] * 6
    connection.set_tenant(org)
    assert CallbackInbox.objects.filter(natural_key__startswith="RKTBURST").count() == 6
    stranger = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.50")
    assert [_post(stranger, token, trans_id="RKTSTR0001").status_code for _ in range(4)] == [403, 403, 429, 429]


@override_settings(HOOK_RATE_PER_IP="2/min", HOOK_RATE_PER_ORG="3/min")
def test_without_an_allow_list_only_refused_callbacks_spend_the_limits(tenant, org, token):
    """A month-end burst from one Safaricom address is never turned away: stored callbacks spend nothing.
    Refusals (a wrong secret here) do, per address and per organization."""
    daraja = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="196.201.214.200")
    assert [_post(daraja, token, trans_id=f"RKTRL{n:05d}").status_code for n in range(12)] == [200] * 12
    connection.set_tenant(org)
    assert CallbackInbox.objects.filter(natural_key__startswith="RKTRL").count() == 12
    prober = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.50")
    refused = [_post(prober, "not-the-secret", trans_id="RKTPROBE01") for _ in range(4)]
    assert [r.status_code for r in refused] == [404, 404, 429, 429] and int(refused[-1]["Retry-After"]) >= 1
    assert _post(daraja, token, trans_id="RKTRL00100").status_code == 200  # another address: still in
    other = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="203.0.113.51")
    assert _post(other, "not-the-secret", trans_id="RKTPROBE02").status_code == 404  # the org's 3rd refusal
    assert _post(daraja, token, trans_id="RKTRL00101").status_code == 429  # the organization is now closed
    connection.set_tenant(org)
    assert CallbackInbox.objects.filter(natural_key__startswith="RKTRL").count() == 13

    # Another web process closed nothing yet: Daraja's next callback there is stored, with no Redis call;
    # the prober's next refusal there is counted, and closes the address and the organization there too.
    from savegame.ratelimit import closed_forget

    closed_forget()
    assert _post(daraja, token, trans_id="RKTRL00102").status_code == 200
    assert [_post(prober, "not-the-secret", trans_id="RKTPROBE03").status_code for _ in range(2)] == [404, 429]
    assert _post(daraja, token, trans_id="RKTRL00103").status_code == 429


@override_settings(MPESA_ALLOWED_IPS=["196.201.214.200"], TRUSTED_PROXY_COUNT=1)
def test_allow_list_reads_the_forwarded_address_through_trusted_proxies_only(tenant, org, token):
    client = Client(HTTP_HOST=f"{org.slug}.localhost", REMOTE_ADDR="10.0.0.2")
    assert _post(client, token, trans_id="RKTPROXY01", HTTP_X_FORWARDED_FOR="196.201.214.200").status_code == 200
    forged = _post(client, token, trans_id="RKTPROXY02", HTTP_X_FORWARDED_FOR="196.201.214.200, 203.0.113.9")
    assert forged.status_code == 403


def test_suspended_organizations_keep_receiving_callbacks(tenant, org, token):
    from tenants.services import organization_reactivate, organization_suspend

    organization_suspend(organization=org)
    try:
        assert _post(Client(HTTP_HOST=f"{org.slug}.localhost"), token, trans_id="RKTSUSP001").status_code == 200
    finally:
        organization_reactivate(organization=org)
