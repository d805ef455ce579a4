"""Response headers every answer carries, and no debug page for a remote caller (docs/SECURITY.md).

- `SecurityHeadersMiddleware`: Referrer-Policy (Django's SECURE_REFERRER_POLICY), Permissions-Policy,
  nosniff. The Content-Security-Policy itself is django-csp's (settings.CONTENT_SECURITY_POLICY:
  script-src and style-src 'self' plus a per-response nonce, no 'unsafe-inline'); `CSP` here is only
  the fallback for the answers django-csp leaves bare (with DEBUG on, its 404 and 500: Django's
  technical pages are inline-styled), so those still forbid framing, plugins and a foreign <base>.
- `NoRemoteDebugPageMiddleware`: with DEBUG on (`make run`), Django's technical 500 page shows
  settings, paths and source. It is kept for a browser on this machine (INTERNAL_IPS, by the same
  client address as everything else: savegame.clientip) and never shown under /hooks/ or to
  anyone else, who gets a plain 500 (JSON under /api/ and /hooks/).
"""

from __future__ import annotations

import logging

from csp.constants import SELF
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpResponse, JsonResponse

from savegame.clientip import client_ip

logger = logging.getLogger(__name__)

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"  # fallback only, see above


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (settings.CONTENT_SECURITY_POLICY), plus the live tier's origin in
    connect-src when pages open their streams on another port of this host (`make run`: LIVE_PORT)."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if settings.LIVE_PORT and not report_only:
            from live.context_processors import live

            parts.update = {**(parts.update or {}), "connect-src": [SELF, live(request)["live_origin"]]}
        return parts


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Django's SecurityMiddleware sets this too, but /hooks/ answers before it runs
        response.headers.setdefault("Referrer-Policy", settings.SECURE_REFERRER_POLICY)
        return response


def _debug_page_allowed(request) -> bool:
    return not request.path.startswith("/hooks/") and client_ip(request) in settings.INTERNAL_IPS


class NoRemoteDebugPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (settings.DEBUG and response.status_code == 500
                and response.get("Content-Type", "").startswith(("text/html", "text/plain"))
                and not _debug_page_allowed(request)):
            if request.path.startswith(("/api/", "/hooks/")):
                plain = JsonResponse({"detail": "Internal server error."}, status=500)
            else:
                plain = HttpResponse("Server error.", status=500, content_type="text/plain; charset=utf-8")
            for header in ("X-Request-ID",):
                if header in response:
                    plain[header] = response[header]
            return plain
        return response
