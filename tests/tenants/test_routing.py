from django.test import Client

from tenants.services import organization_suspend, organization_reactivate


def test_unknown_host_gets_a_friendly_404(db, org):
    response = Client(HTTP_HOST="nobody.localhost").get("/")
    assert response.status_code == 404
    assert b"We could not find that organization" in response.content
    api = Client(HTTP_HOST="nobody.localhost").get("/api/v1/challenges")
    assert api.status_code == 404 and api.json()["detail"].startswith("No organization")


def test_healthz_answers_on_any_host(db, org):
    for host in ("localhost", "alpha.localhost", "nobody.localhost"):
        response = Client(HTTP_HOST=host).get("/healthz")
        assert response.status_code == 200, host
        assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_redis_when_it_is_down(db, org, monkeypatch):
    import savegame.health

    class DeadRedis:
        def ping(self):
            raise ConnectionError("down")

    monkeypatch.setattr(savegame.health, "redis_client", lambda: DeadRedis())
    response = Client(HTTP_HOST="localhost").get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "down" and response.json()["database"] == "ok"


def test_public_host_shows_landing_and_admin_login(db, org):
    client = Client(HTTP_HOST="localhost")
    assert b"SaveGame" in client.get("/").content
    assert client.get("/admin/login/").status_code == 200


def test_suspended_org_says_so_but_keeps_callbacks_open(db, org):
    organization_suspend(organization=org)
    try:
        page = Client(HTTP_HOST="alpha.localhost").get("/")
        assert page.status_code == 403 and b"paused" in page.content
        api = Client(HTTP_HOST="alpha.localhost").get("/api/v1/members")
        assert api.status_code == 403 and "suspended" in api.json()["detail"]
        hook = Client(HTTP_HOST="alpha.localhost").get("/hooks/pay/x/c2b/confirmation")
        assert hook.status_code != 403
    finally:
        organization_reactivate(organization=org)
    assert Client(HTTP_HOST="alpha.localhost").get("/healthz").status_code == 200


def test_request_log_line_carries_request_id_schema_and_status(db, org, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="savegame.request"):
        response = Client(HTTP_HOST="alpha.localhost").get("/healthz", HTTP_X_REQUEST_ID="req-42")
    assert response["X-Request-ID"] == "req-42"
    record = [r for r in caplog.records if r.name == "savegame.request"][-1]
    assert (record.request_id, record.schema, record.status) == ("req-42", "org_alpha", 200)
    assert record.duration_ms >= 0
