"""A small typed client for the Safaricom Daraja API, one instance per organization.

Why our own: the PyPI clients are either stale (django-daraja 2023, daraja-api 2019) or configure one
set of credentials per process from environment variables; we need per-organization credentials,
a token cache shared by every web/worker process (Redis, keyed by schema), retries that never
repeat a POST that might have been processed, and a base URL per environment (simulator, sandbox,
production).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from payments.payloads import NAIROBI
from savegame.redis import redis_client, tenant_key

logger = logging.getLogger(__name__)

BASE_URLS = {
    "sandbox": "https://sandbox.safaricom.co.ke",
    "production": "https://api.safaricom.co.ke",
}
TOKEN_SAFETY_SECONDS = 60  # refresh a little before Daraja's ~3599 s expiry


class DarajaError(Exception):
    """Daraja refused the request (bad credentials, bad input, ...). Not worth retrying."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.body = body or {}


class DarajaTransientError(DarajaError):
    """Timeouts, connection failures, 5xx: worth retrying later."""


def base_url(environment: str) -> str:
    if environment == "simulator":
        return settings.MPESA_SIMULATOR_URL.rstrip("/")
    return BASE_URLS[environment]


def daraja_timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(NAIROBI)).astimezone(NAIROBI).strftime("%Y%m%d%H%M%S")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    """Lipa Na M-Pesa Online password: base64(shortcode + passkey + timestamp)."""
    return base64.b64encode(f"{shortcode}{passkey}{timestamp}".encode()).decode()


def _session() -> requests.Session:
    session = requests.Session()
    # Connection errors happen before the request reaches Daraja, so they are safe to retry even for a
    # POST; 429/503 mean "not processed". A read timeout is never retried: the push may have gone out.
    retry = Retry(total=3, connect=3, read=0, status=2, status_forcelist=(429, 503), allowed_methods=None,
                  backoff_factor=0.4, respect_retry_after_header=True, raise_on_status=False)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


@dataclass(frozen=True)
class StkPushResponse:
    merchant_request_id: str
    checkout_request_id: str
    customer_message: str


@dataclass(frozen=True)
class StkQueryResponse:
    processing: bool  # Daraja has no final result yet
    result_code: str
    result_desc: str


class DarajaClient:
    def __init__(self, *, environment: str, shortcode: str, consumer_key: str, consumer_secret: str,
                 passkey: str = "", initiator_name: str = "", security_credential: str = "",
                 shortcode_type: str = "paybill", timeout: float | None = None, schema: str | None = None):
        self.environment = environment
        self.base = base_url(environment)
        self.shortcode = shortcode
        self.shortcode_type = shortcode_type
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.passkey = passkey
        self.initiator_name = initiator_name
        self.security_credential = security_credential
        self.timeout = timeout or settings.MPESA_HTTP_TIMEOUT
        self.schema = schema
        self.session = _session()

    @classmethod
    def for_settings(cls, row) -> "DarajaClient":
        """The client for an organization's MpesaSettings row (call inside its schema)."""
        return cls(environment=row.environment, shortcode=row.shortcode, consumer_key=row.consumer_key,
                   consumer_secret=row.consumer_secret, passkey=row.passkey, initiator_name=row.initiator_name,
                   security_credential=row.security_credential, shortcode_type=row.shortcode_type)

    # --- plumbing -----------------------------------------------------------------------------
    def _token_key(self) -> str:
        digest = hashlib.sha256(f"{self.base}|{self.consumer_key}".encode()).hexdigest()[:16]
        return tenant_key("daraja", "token", digest, schema=self.schema)

    def access_token(self, *, refresh: bool = False) -> str:
        """OAuth client-credentials token, cached in Redis per organization until just before it expires."""
        key = self._token_key()
        if not refresh:
            try:
                cached = redis_client().get(key)
            except Exception:  # Redis down: ask Daraja, do not fail the payment for a cache
                cached = None
            if cached:
                return cached
        if not self.consumer_key or not self.consumer_secret:
            raise DarajaError("M-Pesa consumer key/secret are not set for this organization.")
        body = self._send("GET", "/oauth/v1/generate?grant_type=client_credentials",
                          auth=(self.consumer_key, self.consumer_secret))
        token = body.get("access_token")
        if not token:
            raise DarajaError("Daraja returned no access token", body=body)
        ttl = max(int(body.get("expires_in") or 3599) - TOKEN_SAFETY_SECONDS, 30)
        try:
            redis_client().set(key, token, ex=ttl)
        except Exception:
            logger.warning("could not cache the Daraja token", extra={"schema": self.schema})
        return token

    def _send(self, method: str, path: str, *, json: dict | None = None, auth=None, token: str | None = None) -> dict:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self.session.request(method, self.base + path, json=json, auth=auth, headers=headers,
                                            timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise DarajaTransientError(f"Daraja unreachable: {exc.__class__.__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            raise DarajaTransientError(body.get("errorMessage") or f"Daraja {response.status_code}",
                                       status=response.status_code, code=str(body.get("errorCode", "")), body=body)
        if response.status_code >= 400:
            raise DarajaError(body.get("errorMessage") or f"Daraja {response.status_code}",
                              status=response.status_code, code=str(body.get("errorCode", "")), body=body)
        return body

    def _post(self, path: str, payload: dict) -> dict:
        body = self._send("POST", path, json=payload, token=self.access_token())
        return body

    # --- API calls ----------------------------------------------------------------------------
    def stk_push(self, *, amount: Decimal, phone: str, account_reference: str, description: str,
                 callback_url: str, timestamp: str | None = None) -> StkPushResponse:
        timestamp = timestamp or daraja_timestamp()
        msisdn = phone.lstrip("+")
        payload = {
            "BusinessShortCode": self.shortcode,
            "Password": stk_password(self.shortcode, self.passkey, timestamp),
            "Timestamp": timestamp,
            "TransactionType": "CustomerBuyGoodsOnline" if self.shortcode_type == "till" else "CustomerPayBillOnline",
            "Amount": int(amount),  # Daraja takes whole shillings
            "PartyA": msisdn,
            "PartyB": self.shortcode,
            "PhoneNumber": msisdn,
            "CallBackURL": callback_url,
            "AccountReference": account_reference[:12],
            "TransactionDesc": description[:13],
        }
        body = self._post("/mpesa/stkpush/v1/processrequest", payload)
        if str(body.get("ResponseCode")) != "0" or not body.get("CheckoutRequestID"):
            raise DarajaError(body.get("ResponseDescription") or "STK push refused", body=body)
        return StkPushResponse(body["MerchantRequestID"] if "MerchantRequestID" in body else "",
                               body["CheckoutRequestID"], body.get("CustomerMessage", ""))

    def stk_query(self, *, checkout_request_id: str, timestamp: str | None = None) -> StkQueryResponse:
        timestamp = timestamp or daraja_timestamp()
        payload = {
            "BusinessShortCode": self.shortcode,
            "Password": stk_password(self.shortcode, self.passkey, timestamp),
            "Timestamp": timestamp,
            "CheckoutRequestID": checkout_request_id,
        }
        try:
            body = self._post("/mpesa/stkpushquery/v1/query", payload)
        except DarajaError as exc:
            # "500.001.1001 The transaction is being processed": no result yet.
            if exc.code.startswith("500.001.1001"):
                return StkQueryResponse(processing=True, result_code="", result_desc=str(exc))
            raise
        return StkQueryResponse(processing=False, result_code=str(body.get("ResultCode", "")),
                                result_desc=str(body.get("ResultDesc", "")))

    def register_urls(self, *, confirmation_url: str, validation_url: str, response_type: str = "Completed") -> dict:
        return self._post("/mpesa/c2b/v1/registerurl", {
            "ShortCode": self.shortcode, "ResponseType": response_type,
            "ConfirmationURL": confirmation_url, "ValidationURL": validation_url,
        })

    def c2b_simulate(self, *, amount: Decimal, msisdn: str, bill_ref: str) -> dict:
        return self._post("/mpesa/c2b/v1/simulate", {
            "ShortCode": self.shortcode,
            "CommandID": "CustomerBuyGoodsOnline" if self.shortcode_type == "till" else "CustomerPayBillOnline",
            "Amount": int(amount), "Msisdn": msisdn.lstrip("+"), "BillRefNumber": bill_ref,
        })

    def transaction_status(self, *, transaction_id: str, result_url: str, timeout_url: str,
                           remarks: str = "reconciliation") -> dict:
        return self._post("/mpesa/transactionstatus/v1/query", {
            "Initiator": self.initiator_name, "SecurityCredential": self.security_credential,
            "CommandID": "TransactionStatusQuery", "TransactionID": transaction_id, "PartyA": self.shortcode,
            "IdentifierType": "4", "ResultURL": result_url, "QueueTimeOutURL": timeout_url,
            "Remarks": remarks, "Occasion": "",
        })
