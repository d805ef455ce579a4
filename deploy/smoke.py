"""Smoke test a SaveGame deployment: `make smoke URL=https://umoja.example.com` (or `python deploy/smoke.py`).

Standard library only, so it runs from any CI runner. Three checks, each printed as it passes:
1. `GET /readyz?role=web` answers 200.
2. One login: `send-otp` then `verify-otp` for SMOKE_PHONE (a member of that organization; the code is
   read from SMOKE_SMS_FILE, the JSON-lines file of the `file` SMS backend and of `make run`'s console
   backend in DEBUG, or from SMOKE_SMS_COMMAND's output), giving a bearer token.
3. One simulated payment: a C2B confirmation (Safaricom's payload) to SMOKE_CALLBACK_URL for the
   member's account code, then the member's own `GET /api/v1/transactions` until it reads `verified`.
   Only against a site whose M-Pesa is the simulator or sandbox: it credits the ledger.
Exit status 0 when all three pass.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo


def _loopback(url: str) -> tuple[str, str | None]:
    """`*.localhost` is the machine itself (RFC 6761) but not every resolver says so: connect to
    127.0.0.1 and send the name as the Host header."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if host != "localhost" and not host.endswith(".localhost"):
        return url, None
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1{port}")), f"{host}{port}"


def _call(method: str, url: str, body: dict | None = None, token: str | None = None,
          timeout: float = 15) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    url, host = _loopback(url)
    request = urllib.request.Request(url, data=data, method=method)
    if host:
        request.add_header("Host", host)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw) if raw else {}
        except ValueError:
            return exc.code, {"body": raw[:200].decode(errors="replace")}


def _step(name: str, ok: bool, detail: object = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + str(detail) if detail else ''}", flush=True)
    if not ok:
        raise SystemExit(1)


def _wait(predicate, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _sms_lines(path: Path) -> list[str]:
    """The SMS log's lines: SMOKE_SMS_COMMAND's output (e.g. `ssh host cat /srv/savegame/sms.jsonl`),
    else the file at `path`."""
    command = os.environ.get("SMOKE_SMS_COMMAND")
    if command:
        import subprocess

        return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30).stdout.splitlines()
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _code_from_file(path: Path, phone: str, after: int) -> str | None:
    lines = _sms_lines(path)[after:]
    for line in reversed(lines):
        try:
            message = json.loads(line)
        except ValueError:
            continue
        match = re.search(r"\b(\d{6})\b", message.get("message", ""))
        if message.get("to") == phone and match:
            return match.group(1)
    return None


def smoke(*, url: str, phone: str, sms_file: Path, callback_url: str, timeout: float, shortcode: str) -> None:
    url = url.rstrip("/")
    status, body = _call("GET", f"{url}/readyz?role=web")
    _step("readyz", status == 200, body.get("failing") or body.get("status"))

    seen = len(_sms_lines(sms_file))
    status, body = _call("POST", f"{url}/api/v1/auth/send-otp", {"phone_number": phone})
    _step("send-otp", status == 202, status)
    code = _wait(lambda: _code_from_file(sms_file, phone, seen), timeout)
    _step("login code delivered", bool(code), f"read from {sms_file}" if code else f"nothing in {sms_file}")
    status, body = _call("POST", f"{url}/api/v1/auth/verify-otp", {"phone_number": phone, "code": code})
    _step("login", status == 200 and "access" in body, body.get("user", {}).get("name") or status)
    access, user_id = body["access"], body["user"]["id"]

    status, member = _call("GET", f"{url}/api/v1/members/{user_id}", token=access)
    _step("member profile", status == 200 and bool(member.get("account_code")), member.get("account_code"))
    if not callback_url:
        _step("callback URL", False, "set SMOKE_CALLBACK_URL (manage.py mpesa_urls --org SLUG: confirmation)")
    if not shortcode:
        _step("Paybill", False, "set SMOKE_SHORTCODE, the organization's own (manage.py mpesa_urls --org SLUG: shortcode);"
              " a payment to another Paybill is refused")
    trans_id = "SMK" + secrets.token_hex(4).upper()
    payment = {
        "TransactionType": "Pay Bill", "TransID": trans_id,
        "TransTime": datetime.now(ZoneInfo("Africa/Nairobi")).strftime("%Y%m%d%H%M%S"), "TransAmount": "10.00",
        "BusinessShortCode": shortcode, "BillRefNumber": member["account_code"],
        "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "", "MSISDN": phone.lstrip("+"),
        "FirstName": "Smoke", "MiddleName": "", "LastName": "Test",
    }
    status, body = _call("POST", callback_url, payment)
    _step("simulated payment stored", status == 200 and body.get("ResultCode") == 0,
          trans_id if status == 200 else f"{status} {body.get('ResultDesc') or body}")

    def credited():
        status, page = _call("GET", f"{url}/api/v1/transactions", token=access)
        rows = page.get("results", page if isinstance(page, list) else [])
        return next((row for row in rows if row.get("transaction_id") == trans_id and row["status"] == "verified"),
                    None)

    row = _wait(credited, timeout)
    _step("payment credited", bool(row), f"{trans_id} verified" if row else f"{trans_id} not verified in {timeout}s")
    print("smoke test passed", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("URL", ""), help="the organization's site, e.g. https://umoja.example.com")
    parser.add_argument("--phone", default=os.environ.get("SMOKE_PHONE", "+254700000011"),
                        help="a member of that organization (default: the demo's Akinyi Otieno)")
    parser.add_argument("--sms-file", default=os.environ.get("SMOKE_SMS_FILE", ".data/sms.jsonl"))
    parser.add_argument("--callback-url", default=os.environ.get("SMOKE_CALLBACK_URL", ""))
    parser.add_argument("--shortcode", default=os.environ.get("SMOKE_SHORTCODE", ""),
                        help="the organization's own Paybill (manage.py mpesa_urls --org SLUG prints it)")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("SMOKE_TIMEOUT", "60")))
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url (or URL=...)")
    smoke(url=args.url, phone=args.phone, sms_file=Path(args.sms_file), callback_url=args.callback_url,
          timeout=args.timeout, shortcode=args.shortcode)


if __name__ == "__main__":
    main(sys.argv[1:])
