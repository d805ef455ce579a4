"""A local stand-in for Safaricom Daraja (MPESA_ENV=simulator).

It serves the endpoints SaveGame calls (OAuth, STK push + query, C2B registerurl + simulate,
Transaction Status) and calls our callback URLs back with Safaricom's payload shapes, after a delay,
sometimes cancelled (1032), sometimes twice, sometimes out of order, sometimes never (so the
reconciler has work). Run it with `python manage.py daraja_simulator --port 8900`.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import random
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)
NAIROBI = ZoneInfo("Africa/Nairobi")
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"

# Outcomes for the next STK pushes (tests script them; otherwise drawn at random):
#   success, cancel (1032), insufficient (1), timeout (1037), drop (paid, but no callback ever),
#   duplicate (the success callback twice), c2b_too (success + a C2B confirmation of the same receipt),
#   c2b_first (the C2B confirmation arrives before the STK result)
OUTCOMES = ("success", "cancel", "insufficient", "timeout", "drop", "duplicate", "c2b_too", "c2b_first")
FAILURES = {"cancel": (1032, "Request cancelled by user"),
            "insufficient": (1, "The balance is insufficient for the transaction"),
            "timeout": (1037, "DS timeout user cannot be reached")}


def _now() -> datetime:
    return datetime.now(NAIROBI)


def _stamp(moment: datetime | None = None) -> str:
    return (moment or _now()).strftime("%Y%m%d%H%M%S")


def _receipt() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "T" + "".join(secrets.choice(alphabet) for _ in range(9))


def deliver(url: str, body: dict, timeout: float = 10.0) -> int | None:
    """POST `body` to one of our callback URLs. `*.localhost` hosts go to 127.0.0.1 with the Host kept."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    for attempt in range(2):
        try:
            conn = cls(address, port, timeout=timeout)
            conn.request("POST", parts.path or "/", body=json.dumps(body),
                         headers={"Host": parts.netloc, "Content-Type": "application/json", "Connection": "close"})
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError as exc:
            logger.warning("simulator could not deliver a callback", extra={"url": url, "error": str(exc)})
            time.sleep(0.5 * (attempt + 1))
    return None


@dataclass
class Checkout:
    checkout_id: str
    merchant_id: str
    shortcode: str
    amount: int
    phone: str
    account_ref: str
    callback_url: str
    outcome: str
    result_code: int | None = None
    result_desc: str = ""
    receipt: str = ""


@dataclass
class SimulatorState:
    tokens: dict = field(default_factory=dict)  # token -> consumer key
    registrations: dict = field(default_factory=dict)  # shortcode -> {"confirmation", "validation", "response_type"}
    checkouts: dict = field(default_factory=dict)  # CheckoutRequestID -> Checkout
    receipts: dict = field(default_factory=dict)  # receipt -> {"amount", "msisdn", "shortcode", "bill_ref", "time"}
    lock: threading.Lock = field(default_factory=threading.Lock)


class DarajaSimulator:
    def __init__(self, host: str = "127.0.0.1", port: int = 8900, *, delay: float = 2.0, cancel_rate: float = 0.1,
                 duplicate_rate: float = 0.1, drop_rate: float = 0.05, out_of_order_rate: float = 0.05,
                 credentials: dict | None = None):
        self.state = SimulatorState()
        self.delay = delay
        self.rates = {"cancel": cancel_rate, "duplicate": duplicate_rate, "drop": drop_rate,
                      "c2b_first": out_of_order_rate}
        self.credentials = credentials or {}  # extra key -> secret pairs; any "sim-..." pair is accepted
        self.script: list[str] = []  # outcomes for the next pushes, in order
        self.calls: list[tuple[str, dict]] = []  # what we received (tests read it)
        simulator = self

        class Handler(_Handler):
            sim = simulator

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "DarajaSimulator":
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- behaviour --------------------------------------------------------------------------
    def credentials_ok(self, key: str, secret: str) -> bool:
        if key in self.credentials:
            return self.credentials[key] == secret
        return key.startswith("sim-") and secret.startswith("sim-") and key.split("-")[1:2] == secret.split("-")[1:2]

    def next_outcome(self) -> str:
        with self.state.lock:
            if self.script:
                return self.script.pop(0)
        roll = random.random()
        for outcome, rate in self.rates.items():
            if roll < rate:
                return outcome
            roll -= rate
        return "success"

    def later(self, seconds: float, fn, *args) -> None:
        timer = threading.Timer(seconds, fn, args=args)
        timer.daemon = True
        timer.start()

    def complete_checkout(self, checkout: Checkout) -> None:
        outcome = checkout.outcome
        if outcome in FAILURES:
            checkout.result_code, checkout.result_desc = FAILURES[outcome]
            deliver(checkout.callback_url, self.stk_body(checkout))
            return
        checkout.result_code, checkout.result_desc = 0, "The service request is processed successfully."
        checkout.receipt = _receipt()
        moment = _now()
        with self.state.lock:
            self.state.receipts[checkout.receipt] = {
                "amount": checkout.amount, "msisdn": checkout.phone, "shortcode": checkout.shortcode,
                "bill_ref": checkout.account_ref, "time": moment}
        if outcome == "drop":
            return  # paid, but the callback is lost: only stkpushquery / Transaction Status will tell
        if outcome == "c2b_first":
            self.send_confirmation(checkout.receipt)
        deliver(checkout.callback_url, self.stk_body(checkout))
        if outcome == "duplicate":
            deliver(checkout.callback_url, self.stk_body(checkout))
        if outcome == "c2b_too":
            self.send_confirmation(checkout.receipt)

    def stk_body(self, checkout: Checkout) -> dict:
        callback = {"MerchantRequestID": checkout.merchant_id, "CheckoutRequestID": checkout.checkout_id,
                    "ResultCode": checkout.result_code, "ResultDesc": checkout.result_desc}
        if checkout.result_code == 0:
            info = self.state.receipts[checkout.receipt]
            callback["CallbackMetadata"] = {"Item": [
                {"Name": "Amount", "Value": float(checkout.amount)},
                {"Name": "MpesaReceiptNumber", "Value": checkout.receipt},
                {"Name": "Balance"},
                {"Name": "TransactionDate", "Value": int(_stamp(info["time"]))},
                {"Name": "PhoneNumber", "Value": int(checkout.phone)},
            ]}
        return {"Body": {"stkCallback": callback}}

    def c2b_body(self, receipt: str) -> dict:
        info = self.state.receipts[receipt]
        return {"TransactionType": "Pay Bill", "TransID": receipt, "TransTime": _stamp(info["time"]),
                "TransAmount": f"{info['amount']:.2f}", "BusinessShortCode": info["shortcode"],
                "BillRefNumber": info["bill_ref"], "InvoiceNumber": "", "OrgAccountBalance": "",
                "ThirdPartyTransID": "", "MSISDN": hashlib.sha256(info["msisdn"].encode()).hexdigest(),
                "FirstName": "Simulated", "MiddleName": "", "LastName": "Payer"}

    def send_confirmation(self, receipt: str) -> None:
        info = self.state.receipts[receipt]
        urls = self.state.registrations.get(info["shortcode"])
        if urls:
            deliver(urls["confirmation"], self.c2b_body(receipt))

    def run_c2b(self, receipt: str) -> None:
        info = self.state.receipts[receipt]
        urls = self.state.registrations.get(info["shortcode"])
        if not urls:
            return
        status = None
        if urls.get("validation"):
            status = deliver(urls["validation"], self.c2b_body(receipt))
        if status not in (None, 200) and urls.get("response_type", "Completed") == "Cancelled":
            return
        deliver(urls["confirmation"], self.c2b_body(receipt))

    def send_status_result(self, result_url: str, conversation: str, originator: str, trans_id: str,
                           shortcode: str) -> None:
        info = self.state.receipts.get(trans_id)
        if info is None:
            body = {"Result": {"ResultType": 0, "ResultCode": "R000001", "ResultDesc": "The transaction receipt number does not exist.",
                               "OriginatorConversationID": originator, "ConversationID": conversation,
                               "TransactionID": trans_id}}
        else:
            stamp = int(_stamp(info["time"]))
            params = [
                {"Key": "DebitPartyName", "Value": f"{info['msisdn']} - Simulated Payer"},
                {"Key": "CreditPartyName", "Value": f"{info['shortcode']} - SaveGame"},
                {"Key": "OriginatorConversationID", "Value": originator}, {"Key": "InitiatedTime", "Value": stamp},
                {"Key": "DebitAccountType", "Value": "MMF Account For Customer"},
                {"Key": "DebitPartyCharges", "Value": ""}, {"Key": "TransactionReason"},
                {"Key": "ReasonType", "Value": "Pay Bill Online"}, {"Key": "TransactionStatus", "Value": "Completed"},
                {"Key": "FinalisedTime", "Value": stamp}, {"Key": "Amount", "Value": float(info["amount"])},
                {"Key": "ConversationID", "Value": conversation}, {"Key": "ReceiptNo", "Value": trans_id},
            ]
            body = {"Result": {"ResultType": 0, "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
                               "OriginatorConversationID": originator, "ConversationID": conversation,
                               "TransactionID": trans_id, "ResultParameters": {"ResultParameter": params},
                               "ReferenceData": {"ReferenceItem": {"Key": "Occasion"}}}}
        deliver(result_url, body)

    def pay_bill(self, *, shortcode: str, amount: int, msisdn: str, bill_ref: str) -> str:
        """A customer pays the Paybill from their phone (C2B): validation then confirmation."""
        receipt = _receipt()
        with self.state.lock:
            self.state.receipts[receipt] = {"amount": amount, "msisdn": msisdn, "shortcode": shortcode,
                                            "bill_ref": bill_ref, "time": _now()}
        self.later(self.delay, self.run_c2b, receipt)
        return receipt


def _error(code: str, message: str) -> dict:
    return {"requestId": secrets.token_hex(8), "errorCode": code, "errorMessage": message}


class _Handler(BaseHTTPRequestHandler):
    sim: DarajaSimulator
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        logger.debug("simulator " + fmt, *args)

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        return token in self.sim.state.tokens

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path != "/oauth/v1/generate" or parse_qs(parts.query).get("grant_type") != ["client_credentials"]:
            return self._send(404, _error("404.001.01", "Resource not found"))
        header = self.headers.get("Authorization", "")
        try:
            key, secret = base64.b64decode(header[6:]).decode().split(":", 1) if header.startswith("Basic ") else ("", "")
        except (ValueError, UnicodeDecodeError):
            key, secret = "", ""
        if not self.sim.credentials_ok(key, secret):
            return self._send(400, _error("400.008.01", "Invalid Authentication passed"))
        token = secrets.token_urlsafe(21)
        self.sim.state.tokens[token] = key
        self.sim.calls.append(("oauth", {"key": key}))
        return self._send(200, {"access_token": token, "expires_in": "3599"})

    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._json()
        if body is None:
            return self._send(400, _error("400.002.02", "Bad Request - Invalid JSON"))
        if not self._authorized():
            return self._send(401, _error("404.001.03", "Invalid Access Token"))
        self.sim.calls.append((path, body))
        handler = {
            "/mpesa/stkpush/v1/processrequest": self.stk_push,
            "/mpesa/stkpushquery/v1/query": self.stk_query,
            "/mpesa/c2b/v1/registerurl": self.register_url,
            "/mpesa/c2b/v2/registerurl": self.register_url,
            "/mpesa/c2b/v1/simulate": self.c2b_simulate,
            "/mpesa/transactionstatus/v1/query": self.transaction_status,
        }.get(path)
        if handler is None:
            return self._send(404, _error("404.001.01", "Resource not found"))
        return handler(body)

    def _password_ok(self, body: dict) -> bool:
        expected = base64.b64encode(f"{body.get('BusinessShortCode')}{PASSKEY}{body.get('Timestamp')}".encode()).decode()
        return body.get("Password") == expected

    def stk_push(self, body: dict):
        for name in ("BusinessShortCode", "Password", "Timestamp", "TransactionType", "Amount", "PartyA", "PartyB",
                     "PhoneNumber", "CallBackURL", "AccountReference", "TransactionDesc"):
            if body.get(name) in (None, ""):
                return self._send(400, _error("400.002.02", f"Bad Request - Invalid {name}"))
        if not self._password_ok(body):
            return self._send(400, _error("400.002.02", "Bad Request - Invalid Password"))
        try:
            amount = int(body["Amount"])
        except (TypeError, ValueError):
            return self._send(400, _error("400.002.02", "Bad Request - Invalid Amount"))
        checkout = Checkout(
            checkout_id=f"ws_CO_{_now():%d%m%Y%H%M%S}{secrets.randbelow(10**9):09d}",
            merchant_id=f"{secrets.randbelow(99999):05d}-{secrets.randbelow(10**8):08d}-1",
            shortcode=str(body["BusinessShortCode"]), amount=amount, phone=str(body["PhoneNumber"]),
            account_ref=str(body["AccountReference"]), callback_url=body["CallBackURL"], outcome=self.sim.next_outcome())
        with self.sim.state.lock:
            self.sim.state.checkouts[checkout.checkout_id] = checkout
        self.sim.later(self.sim.delay, self.sim.complete_checkout, checkout)
        return self._send(200, {"MerchantRequestID": checkout.merchant_id, "CheckoutRequestID": checkout.checkout_id,
                                "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
                                "CustomerMessage": "Success. Request accepted for processing"})

    def stk_query(self, body: dict):
        if not self._password_ok(body):
            return self._send(400, _error("400.002.02", "Bad Request - Invalid Password"))
        checkout = self.sim.state.checkouts.get(body.get("CheckoutRequestID"))
        if checkout is None:
            return self._send(400, _error("400.002.02", "Bad Request - Invalid CheckoutRequestID"))
        if checkout.result_code is None:
            return self._send(500, _error("500.001.1001", "The transaction is being processed"))
        return self._send(200, {"ResponseCode": "0", "ResponseDescription": "The service request has been accepted successsfully",
                                "MerchantRequestID": checkout.merchant_id, "CheckoutRequestID": checkout.checkout_id,
                                "ResultCode": str(checkout.result_code), "ResultDesc": checkout.result_desc})

    def register_url(self, body: dict):
        for name in ("ShortCode", "ResponseType", "ConfirmationURL", "ValidationURL"):
            if not body.get(name):
                return self._send(400, _error("400.003.02", f"Bad Request - Invalid {name}"))
        for name in ("ConfirmationURL", "ValidationURL"):
            lowered = body[name].lower()
            if any(word in lowered for word in ("mpesa", "m-pesa", "safaricom", "query", "exec", "cmd", "sql")):
                return self._send(400, _error("400.003.02", f"Bad Request - Invalid {name}"))
        self.sim.state.registrations[str(body["ShortCode"])] = {
            "confirmation": body["ConfirmationURL"], "validation": body["ValidationURL"],
            "response_type": body["ResponseType"]}
        return self._send(200, {"OriginatorCoversationID": secrets.token_hex(8), "ResponseCode": "0",
                                "ResponseDescription": "success"})

    def c2b_simulate(self, body: dict):
        shortcode = str(body.get("ShortCode") or "")
        if shortcode not in self.sim.state.registrations:
            return self._send(400, _error("400.003.02", "Bad Request - URLs not registered for this ShortCode"))
        try:
            amount = int(body.get("Amount"))
        except (TypeError, ValueError):
            return self._send(400, _error("400.003.02", "Bad Request - Invalid Amount"))
        receipt = self.sim.pay_bill(shortcode=shortcode, amount=amount, msisdn=str(body.get("Msisdn") or "254708374149"),
                                    bill_ref=str(body.get("BillRefNumber") or ""))
        return self._send(200, {"OriginatorCoversationID": secrets.token_hex(8), "ResponseCode": "0",
                                "ResponseDescription": "Accept the service request successfully.", "TransID": receipt})

    def transaction_status(self, body: dict):
        for name in ("Initiator", "SecurityCredential", "TransactionID", "PartyA", "ResultURL", "QueueTimeOutURL"):
            if not body.get(name):
                return self._send(400, _error("400.002.02", f"Bad Request - Invalid {name}"))
        conversation = f"AG_{_stamp()}_{secrets.token_hex(8)}"
        originator = f"{secrets.randbelow(99999)}-{secrets.randbelow(10**8)}-1"
        self.sim.later(self.sim.delay, self.sim.send_status_result, body["ResultURL"], conversation, originator,
                       body["TransactionID"], str(body["PartyA"]))
        return self._send(200, {"OriginatorConversationID": originator, "ConversationID": conversation,
                                "ResponseCode": "0", "ResponseDescription": "Accept the service request successfully."})
