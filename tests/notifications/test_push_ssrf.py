"""Web-push endpoints cannot aim the worker at internal addresses (issue 14, item 2), and a member who
learns another member's endpoint cannot take the subscription over."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from notifications.models import Notification, PushSubscription
from notifications.services import notify
from savegame import netguard
from tests.notifications.test_api import browser_subscription

pytestmark = pytest.mark.usefixtures("eager", "daytime")

class _Recorder:
    """A loopback HTTP server that counts what reaches it (the SSRF target)."""

    def __init__(self, status: int = 201, location: str = ""):
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                hits.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = _answer

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder():
    target = _Recorder()
    yield target
    target.close()


@pytest.fixture
def member_client(member, org, api_client_for):
    client = api_client_for(org)
    client.force_authenticate(member)
    return client


@pytest.fixture
def resolve_public(public_dns):
    return public_dns


@pytest.mark.parametrize("endpoint", [
    "http://127.0.0.1:8898/x",
    "https://127.0.0.1:8898/x",
    "https://localhost/x",
    "https://10.1.2.3/x",
    "https://192.168.0.10/x",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://0.0.0.0/x",
    "http://push.public.test/x",  # public, but not https
    "https://user:pw@push.public.test/x",
    "https://push.rebind.test/x",  # a name that resolves to loopback
])
def test_push_subscription_refuses_non_public_or_non_https_endpoints(member_client, resolve_public, endpoint):
    response = member_client.post("/api/v1/push-subscriptions", browser_subscription(endpoint), format="json")
    assert response.status_code == 400, response.content
    assert "endpoint" in response.json()
    assert not PushSubscription.objects.exists()


def test_public_https_endpoint_is_accepted(member_client, resolve_public):
    response = member_client.post("/api/v1/push-subscriptions",
                                  browser_subscription("https://fcm.public.test/send/abc"), format="json")
    assert response.status_code == 201


def test_worker_never_posts_to_a_loopback_endpoint_already_stored(member, recorder, vapid, settings,
                                                                    django_capture_on_commit_callbacks):
    """A row that got in before the check (or whose name now points inside) is refused at send time."""
    settings.OUTBOUND_TRUSTED_PREFIXES = []
    keys = browser_subscription("x")["keys"]
    PushSubscription.objects.create(user=member, endpoint=f"http://127.0.0.1:{recorder.port}/x", **keys)
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="badge_earned", context={"badge": "Saver"}, channel="push")
    assert recorder.hits == []
    assert Notification.objects.filter(user=member, channel="push").get().status == "failed"


def test_send_time_check_catches_dns_rebinding(member, vapid, settings, resolve_public, monkeypatch,
                                               django_capture_on_commit_callbacks):
    """Saved while the name was public; at send time it resolves to 127.0.0.1: no request goes out."""
    settings.OUTBOUND_TRUSTED_PREFIXES = []
    keys = browser_subscription("x")["keys"]
    PushSubscription.objects.create(user=member, endpoint="https://push.rebind.test/x", **keys)
    sent = []
    monkeypatch.setattr(requests.Session, "post", lambda self, *a, **k: sent.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        notify(user=member, template="badge_earned", context={"badge": "Saver"}, channel="push")
    assert sent == []


def test_connection_refuses_a_non_public_peer_even_past_the_name_check(recorder, settings):
    """The socket's peer is checked after connecting (the name can change between check and connect)."""
    settings.OUTBOUND_TRUSTED_PREFIXES = []
    url = f"https://127.0.0.1:{recorder.port}/x"
    with pytest.raises(requests.ConnectionError):
        netguard.public_session(url).post(url, data=b"x", timeout=2)
    assert recorder.hits == []
    with pytest.raises(requests.exceptions.InvalidSchema):  # plain http has no adapter at all
        netguard.public_session("http://x/").post(f"http://127.0.0.1:{recorder.port}/x", timeout=2)
    assert recorder.hits == []


def test_redirects_are_not_followed(settings):
    target = _Recorder(status=302, location="http://127.0.0.1:1/elsewhere")
    try:
        url = f"http://127.0.0.1:{target.port}/x"
        settings.OUTBOUND_TRUSTED_PREFIXES = [url]
        with pytest.raises(requests.TooManyRedirects):
            netguard.public_session(url).post(url, data=b"x", timeout=2)
        assert target.hits == ["/x"]
    finally:
        target.close()


def test_an_endpoint_stays_with_its_owner(member, member_client, org, api_client_for, resolve_public):
    from accounts.factories import UserFactory

    endpoint = "https://fcm.public.test/send/device-of-wanjiku"
    assert member_client.post("/api/v1/push-subscriptions", browser_subscription(endpoint), format="json").status_code == 201
    attacker = UserFactory(phone_number="+254712999888", name="Mallory")
    other = api_client_for(org)
    other.force_authenticate(attacker)
    response = other.post("/api/v1/push-subscriptions", browser_subscription(endpoint), format="json")
    assert response.status_code == 400 and "endpoint" in response.json()
    assert PushSubscription.objects.get(endpoint=endpoint).user_id == member.pk
    # the owner may refresh their own keys
    assert member_client.post("/api/v1/push-subscriptions", browser_subscription(endpoint), format="json").status_code == 201
