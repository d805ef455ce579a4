"""A local stand-in for Africa's Talking's HTTP API (bulk SMS and WhatsApp) and for a Web Push
service, for tests and benchmarks. It speaks the real request and response payloads, so the
official SDK and pywebpush run unchanged against it; only their base URLs point here.

    with ProviderStandIn() as provider:   # binds 127.0.0.1 on an ephemeral port
        settings.AFRICASTALKING_API_URL = provider.url
        ...
        provider.sms_calls  # every POST /version1/messaging as parsed form data

Behaviour can be scripted: `provider.fail_next(status, times)` answers the next requests with an
HTTP error; `provider.blacklisted` holds numbers answered with statusCode 406 UserInBlacklist.
"""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args):  # keep test output clean
        pass

    def _reply(self, status: int, body, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path != "/_stats":
            return self._reply(404, "Not found", content_type="text/plain")
        state = self.server.state
        with state.lock:
            stats = {"sms_requests": len(state.sms_calls), "messages_sent": state.messages_sent,
                     "whatsapp_requests": len(state.whatsapp_calls), "push_requests": len(state.push_calls)}
        self._reply(200, stats)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        state = self.server.state
        with state.lock:
            forced = state.forced.pop(0) if state.forced else None
        if self.path.startswith("/push/"):
            return self._push(raw, forced)
        if forced is not None:
            with state.lock:
                state.failed_calls += 1
            return self._reply(forced, "Internal Server Error" if forced >= 500 else "The supplied authentication is invalid",
                               content_type="text/plain")
        if self.headers.get("apiKey") not in state.api_keys:
            return self._reply(401, "The supplied authentication is invalid", content_type="text/plain")
        if self.path == "/version1/messaging":
            return self._sms(parse_qs(raw.decode()))
        if self.path == "/whatsapp/message/send":
            return self._whatsapp(json.loads(raw or b"{}"))
        return self._reply(404, "Not found", content_type="text/plain")

    def _sms(self, form: dict) -> None:
        state = self.server.state
        fields = {k: v[0] for k, v in form.items()}
        numbers = [n for n in fields.get("to", "").split(",") if n]
        recipients = []
        for number in numbers:
            if number in state.blacklisted:
                recipients.append({"statusCode": 406, "number": number, "status": "UserInBlacklist", "cost": "0", "messageId": "None"})
            else:
                recipients.append({"statusCode": 101, "number": number, "status": "Success", "cost": "KES 0.8000",
                                   "messageId": f"ATXid_{uuid.uuid4().hex}"})
        with state.lock:
            state.sms_calls.append(fields)
            state.messages_sent += sum(1 for r in recipients if r["statusCode"] == 101)
        ok = sum(1 for r in recipients if r["statusCode"] == 101)
        self._reply(201, {"SMSMessageData": {
            "Message": f"Sent to {ok}/{len(numbers)} Total Cost: KES {0.8 * ok:.4f}", "Recipients": recipients}})

    def _whatsapp(self, payload: dict) -> None:
        state = self.server.state
        with state.lock:
            state.whatsapp_calls.append(payload)
        if payload.get("phoneNumber") in state.no_whatsapp:
            return self._reply(200, {"status": "failed", "errorMessage": "Phone number is not on WhatsApp"})
        self._reply(201, {"status": "success", "description": "Message sent", "messageId": f"WA_{uuid.uuid4().hex}"})

    def _push(self, raw: bytes, forced: int | None) -> None:
        state = self.server.state
        with state.lock:
            state.push_calls.append({"path": self.path, "encoding": self.headers.get("Content-Encoding"),
                                     "authorization": self.headers.get("Authorization", ""), "bytes": len(raw)})
        if forced is not None or self.path in state.gone_push:
            return self._reply(forced or 410, "", content_type="text/plain")
        self._reply(201, "", content_type="text/plain")


class _State:
    def __init__(self, api_key: str):
        self.lock = threading.Lock()
        self.api_keys = {api_key}
        self.forced: list[int] = []
        self.blacklisted: set[str] = set()
        self.no_whatsapp: set[str] = set()
        self.gone_push: set[str] = set()
        self.sms_calls: list[dict] = []
        self.whatsapp_calls: list[dict] = []
        self.push_calls: list[dict] = []
        self.failed_calls = 0
        self.messages_sent = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class ProviderStandIn:
    def __init__(self, api_key: str = "standin-key"):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = _State(api_key)
        self._thread = threading.Thread(target=self._server.serve_forever, name="at-standin", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def state(self) -> _State:
        return self._server.state

    def __getattr__(self, name):
        return getattr(self._server.state, name)

    def fail_next(self, status: int, times: int = 1) -> None:
        with self.state.lock:
            self.state.forced.extend([status] * times)

    def start(self) -> ProviderStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
