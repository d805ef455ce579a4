"""Daraja callback payloads: parse and validate Safaricom's exact shapes into typed values.

A payload that fails here is answered 400 and stored nowhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop as N_

NAIROBI = ZoneInfo("Africa/Nairobi")
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{4,80}$")
_TIME_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})")


class PayloadError(ValueError):
    """The callback body is not a Daraja payload we accept."""


def daraja_time(value) -> datetime:
    """TransTime / TransactionDate (`YYYYMMDDHHMMSS`, string or number) in Africa/Nairobi."""
    text = str(value).strip()
    match = _TIME_RE.fullmatch(text)  # not strptime: this runs on every callback, at a quarter of the cost
    try:
        if match is None:
            raise ValueError(text)
        return datetime(*(int(part) for part in match.groups()), tzinfo=NAIROBI)
    except ValueError:
        raise PayloadError(f"bad timestamp {text!r}") from None


def daraja_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise PayloadError(f"bad amount {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise PayloadError(f"bad amount {value!r}")
    low, high = _amount_bounds()
    if not low <= amount <= high:  # Daraja's real per-transaction range; past it the ledger column overflows
        raise PayloadError(f"amount {amount} outside KES {low}-{high}")
    return amount


def _amount_bounds() -> tuple[Decimal, Decimal]:
    from django.conf import settings

    return Decimal(str(settings.MPESA_MIN_AMOUNT)), Decimal(str(settings.MPESA_MAX_AMOUNT))


def _key(value, name: str) -> str:
    text = str(value or "").strip()
    if not _KEY_RE.match(text):
        raise PayloadError(f"missing or bad {name}")
    return text


@dataclass(frozen=True)
class C2BPayment:
    trans_id: str
    trans_time: datetime
    amount: Decimal
    shortcode: str
    bill_ref: str
    msisdn: str
    first_name: str
    transaction_type: str


def parse_c2b(body: object) -> C2BPayment:
    """C2B validation / confirmation: TransactionType, TransID, TransTime, TransAmount, BusinessShortCode,
    BillRefNumber, InvoiceNumber, OrgAccountBalance, ThirdPartyTransID, MSISDN, FirstName, ..."""
    if not isinstance(body, dict):
        raise PayloadError("body is not a JSON object")
    for field in ("TransID", "TransTime", "TransAmount", "BusinessShortCode", "MSISDN"):
        if body.get(field) in (None, ""):
            raise PayloadError(f"missing {field}")
    return C2BPayment(
        trans_id=_key(body["TransID"], "TransID"),
        trans_time=daraja_time(body["TransTime"]),
        amount=daraja_amount(body["TransAmount"]),
        shortcode=str(body["BusinessShortCode"]).strip()[:12],
        bill_ref=str(body.get("BillRefNumber") or "").strip()[:40],
        msisdn=str(body["MSISDN"]).strip()[:80],
        first_name=" ".join(str(body.get(k) or "").strip() for k in ("FirstName", "MiddleName", "LastName")).strip()[:120],
        transaction_type=str(body.get("TransactionType") or "")[:40],
    )


@dataclass(frozen=True)
class StkResult:
    merchant_request_id: str
    checkout_request_id: str
    result_code: int
    result_desc: str
    amount: Decimal | None
    receipt: str | None
    transacted_at: datetime | None
    phone: str

    @property
    def ok(self) -> bool:
        return self.result_code == 0


def parse_stk(body: object) -> StkResult:
    """Body.stkCallback{MerchantRequestID, CheckoutRequestID, ResultCode, ResultDesc,
    CallbackMetadata.Item[{Name, Value}]} (metadata only when ResultCode is 0)."""
    try:
        callback = body["Body"]["stkCallback"]  # type: ignore[index]
    except (TypeError, KeyError):
        raise PayloadError("missing Body.stkCallback") from None
    if not isinstance(callback, dict):
        raise PayloadError("Body.stkCallback is not an object")
    checkout = _key(callback.get("CheckoutRequestID"), "CheckoutRequestID")
    try:
        code = int(callback.get("ResultCode"))
    except (TypeError, ValueError):
        raise PayloadError("missing or bad ResultCode") from None
    items: dict = {}
    if code == 0:
        metadata = callback.get("CallbackMetadata")
        raw_items = metadata.get("Item") if isinstance(metadata, dict) else None
        if not isinstance(raw_items, list):
            raise PayloadError("missing CallbackMetadata.Item")
        items = {item.get("Name"): item.get("Value") for item in raw_items if isinstance(item, dict)}
        for name in ("Amount", "MpesaReceiptNumber", "TransactionDate"):
            if items.get(name) in (None, ""):
                raise PayloadError(f"missing CallbackMetadata {name}")
    return StkResult(
        merchant_request_id=str(callback.get("MerchantRequestID") or "")[:80],
        checkout_request_id=checkout,
        result_code=code,
        result_desc=str(callback.get("ResultDesc") or "")[:255],
        amount=daraja_amount(items["Amount"]) if code == 0 else None,
        receipt=_key(items["MpesaReceiptNumber"], "MpesaReceiptNumber") if code == 0 else None,
        transacted_at=daraja_time(items["TransactionDate"]) if code == 0 else None,
        phone=str(items.get("PhoneNumber") or "")[:80],
    )


@dataclass(frozen=True)
class StatusResult:
    conversation_id: str
    originator_conversation_id: str
    result_code: str
    result_desc: str
    params: dict

    @property
    def completed(self) -> bool:
        return self.result_code == "0" and str(self.params.get("TransactionStatus", "")).lower() == "completed"


def parse_status_result(body: object) -> StatusResult:
    """Transaction Status ResultURL / QueueTimeOutURL: Result{ResultType, ResultCode, ResultDesc,
    OriginatorConversationID, ConversationID, TransactionID, ResultParameters.ResultParameter[{Key, Value}]}."""
    try:
        result = body["Result"]  # type: ignore[index]
    except (TypeError, KeyError):
        raise PayloadError("missing Result") from None
    if not isinstance(result, dict):
        raise PayloadError("Result is not an object")
    conversation = _key(result.get("ConversationID"), "ConversationID")
    if result.get("ResultCode") in (None, ""):
        raise PayloadError("missing ResultCode")
    code = str(result.get("ResultCode")).strip()[:16]
    raw = (result.get("ResultParameters") or {}).get("ResultParameter") if isinstance(result.get("ResultParameters"), dict) else None
    if isinstance(raw, dict):
        raw = [raw]
    params = {p.get("Key"): p.get("Value") for p in (raw or []) if isinstance(p, dict)}
    return StatusResult(
        conversation_id=conversation,
        originator_conversation_id=str(result.get("OriginatorConversationID") or "")[:80],
        result_code=code,
        result_desc=str(result.get("ResultDesc") or "")[:255],
        params=params,
    )


def natural_key(kind: str, body: object) -> str:
    """Parse `body` for `kind` (raising PayloadError) and return its idempotency key."""
    if kind in ("validation", "confirmation"):
        return parse_c2b(body).trans_id
    if kind == "stk_callback":
        return parse_stk(body).checkout_request_id
    if kind in ("result", "timeout"):
        return parse_status_result(body).conversation_id
    raise PayloadError(f"unknown callback kind {kind}")


# Member-facing words for STK push ResultCodes (Daraja's own ResultDesc is shown to admins).
STK_RESULT_MESSAGES = {
    0: N_("Payment received. Thank you!"),
    1: N_("Your M-Pesa balance is too low for this amount."),
    1001: N_("Another M-Pesa transaction is in progress on your phone. Try again in a minute."),
    1019: N_("The request expired before it was completed. Try again."),
    1025: N_("M-Pesa could not send the prompt. Try again."),
    1032: N_("You cancelled the payment on your phone."),
    1037: N_("Your phone could not be reached. Check it is on and has signal, then try again."),
    2001: N_("The M-Pesa PIN was wrong."),
}
STK_DEFAULT_FAILURE = N_("The payment did not go through. Try again.")
