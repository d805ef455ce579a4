"""Helpers for identity tests: drive the OTP flow over HTTP and read codes from the SMS file."""

from __future__ import annotations

import re
import socketserver
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.db import connections

CODE_RE = re.compile(r"\b(\d{6})\b")


def code_from(message: dict) -> str:
    match = CODE_RE.search(message["message"])
    assert match, message
    return match.group(1)


@pytest.fixture
def login(api_client_for, sms_outbox):
    """Log `phone` in on `organization` over HTTP; returns the verify-otp JSON."""

    def run(organization, phone: str) -> dict:
        client = api_client_for(organization)
        sent = client.post("/api/v1/auth/send-otp", {"phone_number": phone}, format="json")
        assert sent.status_code == 202, sent.content
        code = code_from([m for m in sms_outbox() if m["to"] == phone][-1])
        verified = client.post("/api/v1/auth/verify-otp", {"phone_number": phone, "code": code}, format="json")
        assert verified.status_code == 200, verified.content
        return verified.json()

    return run


# --- a real server on 127.0.0.1:0 over the test database (use with committed_org) ----------------

class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 1024  # the stock 5 would refuse connections before Django ever saw them

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            connections.close_all()


@pytest.fixture
def live_server_url(committed_org):
    """Port of a threaded WSGI server running the whole app (middleware included) on the test DB.

    Settings changed before this fixture starts (rates, say) apply: the app is built here."""
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
