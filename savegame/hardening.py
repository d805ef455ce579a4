"""Response headers every answer carries, and no debug page for a remote caller (docs/SECURITY.md).

- `SecurityHeadersMiddleware`: Referrer-Policy (Django's SECURE_REFERRER_POLICY), Permissions-Policy,
  and a Content-Security-Policy that forbids framing (frame-ancestors 'none'), plugins and a
  foreign <base>. Script and style sources are not yet restricted (inline scripts remain).
- `NoRemoteDebugPageMiddleware`: with DEBUG on (`make run`), Django's technical 500 page shows
  settings, paths and source. It is kept for a browser on this machine (INTERNAL_IPS, by the same
  client address as everything else: savegame.clientip) and never shown under /hooks/ or to
  anyone else, who gets a plain 500 (JSON under /api/ and /hooks/).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from savegame.clientip import client_ip

logger = logging.getLogger(__name__)

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'"


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
