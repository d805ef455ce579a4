"""Which language a page speaks on an organization's site.

Order: the signed-in member's own language (accounts.User.language) > the EN/SW switch (the
django_language cookie, set by Django's set_language view) > the browser, when it asks for
Kiswahili first > the organization's language (branding) > settings.LANGUAGE_CODE. `<html lang>`
follows because templates read the active language.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header

SUPPORTED = {code for code, _name in settings.LANGUAGES}


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    code = code.lower().split("-")[0].split("_")[0]
    return code if code in SUPPORTED else None


def browser_prefers_kiswahili(accept_language: str) -> bool:
    """True when the first language the browser asks for is Kiswahili (sw, sw-KE, ...)."""
    ranked = [lang for lang, q in parse_accept_lang_header(accept_language or "") if q > 0 and lang != "*"]
    return bool(ranked) and _supported(ranked[0]) == "sw"


def language_for_request(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        chosen = _supported(getattr(user, "language", ""))
        if chosen:
            return chosen
    chosen = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen:
        return chosen
    if browser_prefers_kiswahili(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        return "sw"
    tenant = getattr(request, "tenant", None)
    if tenant is not None and not tenant.is_public:
        chosen = _supported(tenant.language)
        if chosen:
            return chosen
    return settings.LANGUAGE_CODE


class OrganizationLocaleMiddleware:
    """Replaces django.middleware.locale.LocaleMiddleware; sits after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = language_for_request(request)
        # override, not activate: the thread gets its previous language back after the response
        # (rendered by then), so one request's Kiswahili never leaks into the next.
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response
