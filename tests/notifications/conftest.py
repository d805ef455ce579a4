"""Notifications fixtures: a local Africa's Talking / Web Push stand-in (real payloads, real SDKs)
and Celery in eager mode (tasks run in-process, in the caller's schema)."""

from __future__ import annotations

import pytest

from notifications.standin import ProviderStandIn
from savegame.celery import app


@pytest.fixture
def provider(settings):
    """The stand-in on 127.0.0.1:<ephemeral>, with SMS_BACKEND=africastalking pointed at it."""
    with ProviderStandIn(api_key="platform-key") as standin:
        settings.SMS_BACKEND = "africastalking"
        settings.AFRICASTALKING_API_URL = standin.url
        settings.AFRICASTALKING_CHAT_URL = standin.url
        settings.AFRICASTALKING_USERNAME = "savegame"
        settings.AFRICASTALKING_API_KEY = "platform-key"
        settings.AFRICASTALKING_SENDER_ID = "SAVEGAME"
        settings.AFRICASTALKING_WHATSAPP_NUMBER = "+254711082000"
        # the stand-in is the tests' push service: exempt from the public-https rule (savegame.netguard)
        settings.OUTBOUND_TRUSTED_PREFIXES = [f"{standin.url}/"]
        yield standin


@pytest.fixture
def eager():
    """Tasks run in-process; a task's own failure is recorded in its result, not raised into the
    caller (as with a real broker), so eager autoretry behaves like a worker's."""
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def member(tenant):
    from accounts.factories import UserFactory

    return UserFactory(phone_number="+254712345678", name="Wanjiku", language="en")


@pytest.fixture
def vapid(settings, tmp_path):
    """A throwaway VAPID key pair (the dev key file under tmp_path)."""
    from notifications.push import vapid_keys

    settings.WEBPUSH_DEV_KEY_PATH = str(tmp_path / "vapid.pem")
    vapid_keys.cache_clear()
    yield
    vapid_keys.cache_clear()


@pytest.fixture
def public_dns(monkeypatch):
    """Offline stand-in DNS for savegame.netguard: *.public.test and *.example.test resolve to a public
    address, *.rebind.test to loopback; anything else as usual."""
    import socket

    from savegame import netguard

    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if str(host).endswith((".public.test", ".example.test")):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        if str(host).endswith(".rebind.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netguard.socket, "getaddrinfo", fake)
