"""Atomic rate limits in Redis, and the middleware that applies them to /api/ and /hooks/.

DRF's stock throttles read, decide and write in three steps, so concurrent requests all see the
same count and slip through together. Here one Lua script increments and checks every bucket of
a request in a single Redis call: a window starts at its first hit (INCR, then PEXPIRE on the
first), so 500 simultaneous requests from one address let exactly the first N through.

A request refused by its per-IP bucket does not spend the organization's bucket: one noisy address
cannot lock a whole organization out.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _

from savegame.clientip import client_ip
from savegame.redis import redis_client, tenant_key

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
          "d": 86400, "day": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+?)s?\s*$")

# KEYS: bucket keys in order. ARGV: limit1, window_ms1, limit2, window_ms2, ...
# Returns {0, 0} when every bucket allowed the hit, else {index (1-based), retry_after_ms} of the first
# bucket that refused; later buckets are not touched.
_HIT_SCRIPT = """
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local count = redis.call('INCR', key)
  local ttl = redis.call('PTTL', key)
  if count == 1 or ttl < 0 then
    redis.call('PEXPIRE', key, window)
    ttl = window
  end
  if count > limit then
    return {i, ttl}
  end
end
return {0, 0}
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


_script = None


def _hit_script():
    global _script
    client = redis_client()
    if _script is None or _script.registered_client is not client:  # the pool was rebuilt (settings changed)
        _script = client.register_script(_HIT_SCRIPT)
    return _script


def buckets_hit(buckets: list[Bucket]) -> Verdict:
    """Count one hit against every bucket, atomically; refuse at the first one that is full."""
    if not buckets:
        return Verdict(allowed=True)
    args: list[int] = []
    for bucket in buckets:
        args += [bucket.rate.limit, bucket.rate.window_seconds * 1000]
    index, retry_ms = _hit_script()(keys=[b.key for b in buckets], args=args)
    if int(index) == 0:
        return Verdict(allowed=True)
    return Verdict(allowed=False, retry_after=max(1, math.ceil(int(retry_ms) / 1000)), bucket=buckets[int(index) - 1])


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
        try:
            verdict = buckets_hit(buckets)
        except Exception:
            logger.warning("rate limiter unavailable; letting the request through", exc_info=True)
            return self.get_response(request)
        if not verdict.allowed:
            return rate_limited_response(verdict.retry_after)
        return self.get_response(request)
