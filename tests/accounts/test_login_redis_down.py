"""/login/ without Redis: codes can be neither rate-limited nor checked, so the page says so
plainly (503 + Retry-After, the form still there), never an HTML 500 and never an unlimited send."""

from __future__ import annotations

import socket
from contextlib import contextmanager

import pytest

from accounts.factories import UserFactory
from tests.accounts.conftest import code_from


@contextmanager
def redis_unreachable(settings):
    """Point the one Redis pool at a port nobody listens on (a real refused connection)."""
    from savegame.redis import redis_client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    real = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    redis_client.cache_clear()
    try:
        yield
    finally:
        settings.REDIS_URL = real
        redis_client.cache_clear()


@pytest.fixture
def redis_down(settings):
    with redis_unreachable(settings):
        yield


def test_sending_a_code_without_redis_shows_a_clear_error(tenant, org, client_for, sms_outbox, redis_down):
    UserFactory(phone_number="+254744100001")
    client = client_for(org)
    assert client.get("/login/").status_code == 200  # the form itself needs no Redis
    response = client.post("/login/", {"phone_number": "0744100001"})
    assert response.status_code == 503 and response["Retry-After"] == "30"
    html = response.content.decode()
    assert "Login codes are not working right now." in html and 'data-login-unavailable' in html
    assert 'name="phone_number"' in html and 'value="0744100001"' in html  # they can simply try again
    assert sms_outbox() == []  # no code went out unlimited


def test_a_sent_code_still_logs_in_while_redis_is_down(tenant, org, client_for, sms_outbox, settings):
    """Checking a code needs no Redis (tries are counted in the database by django-otp): a code
    that went out before Redis fell still logs the member in, and is not burnt by a 500."""
    UserFactory(phone_number="+254744100002")
    client = client_for(org)
    assert client.post("/login/", {"phone_number": "0744100002"}).status_code == 302
    code = code_from(sms_outbox()[-1])

    with redis_unreachable(settings):
        wrong = client.post("/login/?step=code", {"code": "000000" if code != "000000" else "111111"})
        assert wrong.status_code == 400 and "_auth_user_id" not in client.session
        import time

        time.sleep(1.1)  # django-otp back-off after a wrong code
        response = client.post("/login/?step=code", {"code": code})
        assert response.status_code == 302 and response["Location"] == "/"
        assert "_auth_user_id" in client.session
