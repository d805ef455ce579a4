"""Atomic rate limits in Redis, and the middleware that applies them to /api/ and /hooks/.

DRF's stock throttles read, decide and write in three steps, so concurrent requests all see the
same count and slip through together. Here one Lua script increments and checks every bucket of
a request in a single Redis call: a window starts at its first hit (INCR, then PEXPIRE on the
first), so 500 simultaneous requests from one address let exactly the first N through.

A request refused by its per-IP bucket does not spend the organization's bucket: one noisy address
cannot lock a whole organization out.

/hooks/ (Daraja, Africa's Talking) is limited by what gets refused, not by how much arrives: a
callback that is stored never spends a bucket, so a month-end burst from one Safaricom address is never
turned away (refusing a confirmation can lose a payment: Daraja does not promise to retry). Requests
answered 400/403/404/405/413 (a wrong secret, a malformed body, an address outside the allow-list)
count in Redis, in every bucket. The process that counts the refusal filling a bucket closes that
address (or organization) itself until the window ends, and answers it 429 without asking Redis; each
other web process closes it at its own next refusal from there. So a stored callback costs no Redis
round trip at all, and a prober gets at most one more refusal per web process per window.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _

from savegame.clientip import client_ip
from savegame.redis import redis_client, tenant_key

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")

# KEYS: bucket keys in order. ARGV: stop (1 or 0), then limit1, window_ms1, limit2, window_ms2, ...
# Counts one hit in each bucket, in order (a window starts at its first hit), and returns
# {index (1-based), ttl_ms, ...} of the buckets whose count went past their limit. With stop = 1 it
# returns at the first such bucket and later buckets are not touched.
_COUNT_SCRIPT = """
local over = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if count == 1 or ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  if count > limit then
    table.insert(over, i)
    table.insert(over, ttl)
    if ARGV[1] == '1' then
      return over
    end
  end
end
return over
"""


@dataclass(frozen=True)
class Rate:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`100/min`, `5/hour`, `20/10min`, `3000/m`."""
        match = _RATE_RE.match(str(text).lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"bad rate {text!r}: use N/unit, e.g. 100/min or 20/10min")
        multiple = int(match.group(2) or 1)
        return cls(limit=int(match.group(1)), window_seconds=multiple * _UNITS[match.group(3)])


def rates_parse(text: str) -> list[Rate]:
    """One or more rates, comma-separated: `5/hour,10/day` (every one must hold)."""
    return [Rate.parse(part) for part in str(text).split(",") if part.strip()]


@dataclass(frozen=True)
class Bucket:
    key: str
    rate: Rate


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # seconds
    bucket: Bucket | None = None


# What a refused callback is answered with (payments/hooks.py, notifications' delivery reports).
REFUSED_STATUSES = frozenset({400, 403, 404, 405, 413})

_script = None


def _count(buckets: list[Bucket], *, stop: bool, slack: int = 0) -> list[Verdict]:
    """Run _COUNT_SCRIPT: a refusing verdict for each bucket whose count went past limit - slack."""
    global _script
    client = redis_client()
    if _script is None or _script.registered_client is not client:  # the pool was rebuilt (settings changed)
        _script = client.register_script(_COUNT_SCRIPT)
    args: list[int] = [1 if stop else 0]
    for bucket in buckets:
        args += [bucket.rate.limit - slack, bucket.rate.window_seconds * 1000]
    over = _script(keys=[b.key for b in buckets], args=args)
    return [Verdict(allowed=False, retry_after=max(1, math.ceil(int(ttl_ms) / 1000)), bucket=buckets[int(index) - 1])
            for index, ttl_ms in zip(over[::2], over[1::2], strict=True)]


def refusal_count(buckets: list[Bucket]) -> list[Verdict]:
    """Count one refused request in every bucket. Returns a refusing verdict for each bucket that has
    reached its limit (the next request there should be turned away for `retry_after` seconds)."""
    return _count(buckets, stop=False, slack=1)


# bucket key -> time.monotonic() until which this process answers 429 (see the module docstring)
_closed: dict[str, float] = {}


def closed_forget() -> None:
    """Reopen every address and organization this process closed (tests)."""
    _closed.clear()


def buckets_hit(buckets: list[Bucket]) -> Verdict:
    """Count one hit against every bucket, atomically; refuse at the first one that is full."""
    if not buckets:
        return Verdict(allowed=True)
    over = _count(buckets, stop=True)
    return over[0] if over else Verdict(allowed=True)


def rate_limited_response(retry_after: int, detail: str | None = None) -> JsonResponse:
    response = JsonResponse(
        {"detail": detail or _("Too many requests. Try again in %(seconds)d seconds.") % {"seconds": retry_after}},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class RateLimitMiddleware:
    """Per-IP and per-organization limits for /api/, and separate generous ones for /hooks/ (Daraja).

    Keys carry the organization's schema. When Redis is unreachable the request goes through
    (logged): the limiter must not take the whole API down with it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_ip = Rate.parse(settings.API_RATE_PER_IP)
        self.api_org = Rate.parse(settings.API_RATE_PER_ORG)
        self.hook_ip = Rate.parse(settings.HOOK_RATE_PER_IP)
        self.hook_org = Rate.parse(settings.HOOK_RATE_PER_ORG)

    def __call__(self, request):
        path = request.path
        if path.startswith("/api/"):
            scope, ip_rate, org_rate = "api", self.api_ip, self.api_org
        elif path.startswith("/hooks/"):
            scope, ip_rate, org_rate = "hook", self.hook_ip, self.hook_org
        else:
            return self.get_response(request)
        schema = getattr(getattr(request, "tenant", None), "schema_name", None) or "public"
        buckets = [
            Bucket(tenant_key("rl", scope, "ip", client_ip(request) or "unknown", schema=schema), ip_rate),
            Bucket(tenant_key("rl", scope, "org", schema=schema), org_rate),
        ]
        if scope == "hook":
            return self._hooks(request, buckets)
        try:
            verdict = buckets_hit(buckets)
        except Exception:
            logger.warning("rate limiter unavailable; letting the request through", exc_info=True)
            return self.get_response(request)
        if not verdict.allowed:
            return rate_limited_response(verdict.retry_after)
        return self.get_response(request)

    def _hooks(self, request, buckets: list[Bucket]):
        """Turn away an address or organization closed for too many refusals; count only refusals."""
        now = time.monotonic()
        for bucket in buckets:
            until = _closed.get(bucket.key)
            if until is not None:
                if until > now:
                    return rate_limited_response(max(1, math.ceil(until - now)))
                _closed.pop(bucket.key, None)
        try:
            response = self.get_response(request)
        except (Http404, PermissionDenied):  # answered 404 / 403 further out
            self._refused(buckets)
            raise
        if response.status_code in REFUSED_STATUSES:
            self._refused(buckets)
        return response

    @staticmethod
    def _refused(buckets: list[Bucket]) -> None:
        try:
            full = refusal_count(buckets)
        except Exception:
            logger.warning("rate limiter unavailable; refusal not counted", exc_info=True)
            return
        if full and len(_closed) > 10_000:  # a flood from many addresses: keep only what is still closed
            now = time.monotonic()
            for key, until in list(_closed.items()):  # a copy: other threads add while we prune
                if until <= now:
                    _closed.pop(key, None)
        for verdict in full:
            _closed[verdict.bucket.key] = time.monotonic() + verdict.retry_after
