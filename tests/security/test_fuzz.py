"""A bounded fuzz pass (hypothesis) over what strangers control: Daraja callback bodies and phone
numbers. The only allowed failures are the documented ones (PayloadError, ValidationError); any
other exception is a crash-type bug like issue 14's nested JSON. Each test has a time budget."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.phone import normalize_phone
from payments import payloads
from savegame.jsonbody import json_loads

FUZZ = settings(max_examples=400, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)

C2B_FIELDS = ["TransactionType", "TransID", "TransTime", "TransAmount", "BusinessShortCode", "BillRefNumber",
              "MSISDN", "FirstName", "MiddleName", "LastName"]
c2b_like = st.fixed_dictionaries({}, optional={f: json_values | st.text(max_size=40) for f in C2B_FIELDS})
stk_like = st.builds(lambda inner: {"Body": {"stkCallback": inner}}, st.dictionaries(
    st.sampled_from(["MerchantRequestID", "CheckoutRequestID", "ResultCode", "ResultDesc", "CallbackMetadata"]),
    json_values, max_size=5))
status_like = st.builds(lambda inner: {"Result": inner}, st.dictionaries(
    st.sampled_from(["ResultType", "ResultCode", "ResultDesc", "OriginatorConversationID", "ConversationID",
                     "TransactionID", "ResultParameters"]), json_values, max_size=7))
bodies = json_values | c2b_like | stk_like | status_like


@FUZZ
@given(kind=st.sampled_from(["validation", "confirmation", "stk_callback", "result", "timeout"]), body=bodies)
def test_callback_parsing_raises_only_payload_errors(kind, body):
    try:
        payloads.natural_key(kind, body)
        {"validation": payloads.parse_c2b, "confirmation": payloads.parse_c2b, "stk_callback": payloads.parse_stk,
         "result": payloads.parse_status_result, "timeout": payloads.parse_status_result}[kind](body)
    except payloads.PayloadError:
        pass


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.integers(1, 5000).map(lambda n: b"[" * n) | st.integers(1, 5000).map(lambda n: b'{"a":' * n))
def test_reading_a_callback_body_raises_only_value_errors(raw):
    try:
        json_loads(raw)
    except ValueError:
        pass


@FUZZ
@given(raw=st.text(max_size=40) | st.from_regex(r"\+?(254|0)?[17][0-9 \-]{6,12}", fullmatch=True))
def test_phone_normaliser_raises_only_validation_errors(raw):
    try:
        result = normalize_phone(raw)
    except ValidationError:
        return
    assert result.startswith("+254") and result[1:].isdigit() and len(result) == 13


def test_the_fuzzer_reaches_real_payloads():
    """The strategies are not vacuous: a real C2B body parses."""
    body = {"TransID": "RKT0000001", "TransTime": "20261126094512", "TransAmount": "100.00",
            "BusinessShortCode": "600000", "MSISDN": "x" * 64}
    assert payloads.parse_c2b(json.loads(json.dumps(body))).amount == 100
