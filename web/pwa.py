"""The installable app per organization: manifest, icons, favicon, service worker, offline page.

Everything is generated from the organization's brand (name, initial, colours), so a new
organization is installable the moment it exists, with no image to upload.
"""

from __future__ import annotations

import hashlib
import io
import json
from functools import lru_cache
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from tenants.branding import brand_context

PNG_SIZES = (192, 512)
BACKGROUND = "#f5f6f8"
# Pages the service worker keeps for offline viewing (URL names; those not installed are skipped).
OFFLINE_PAGE_NAMES = ["home", "challenge-list", "badges", "transaction-list"]
OFFLINE_PREFIX_NAMES = ["challenge-list"]  # challenge detail pages live under it


def _brand(request) -> dict:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        raise Http404("No organization here.")
    return brand_context(tenant)


def icon_svg(*, background: str, foreground: str, initial: str, maskable: bool = False) -> str:
    radius = 0 if maskable else 14
    size = 30 if maskable else 36  # maskable icons keep the glyph inside the safe zone
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="{radius}" fill="{background}"/>'
        f'<text x="32" y="{32 + size * 0.36:.1f}" font-family="system-ui,Segoe UI,Roboto,sans-serif" '
        f'font-size="{size}" font-weight="700" text-anchor="middle" fill="{foreground}">{escape(initial)}</text>'
        "</svg>"
    )


@lru_cache(maxsize=256)
def icon_png(*, background: str, foreground: str, initial: str, size: int, maskable: bool = False) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=0 if maskable else size * 14 // 64, fill=background)
    font = ImageFont.load_default(size=int(size * (0.42 if maskable else 0.55)))
    draw.text((size / 2, size / 2), initial, fill=foreground, font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@require_GET
@cache_control(max_age=3600)
def favicon_svg(request):
    brand = _brand(request)
    body = icon_svg(background=brand["primary"], foreground=brand["on_primary"], initial=brand["initial"])
    return HttpResponse(body, content_type="image/svg+xml")


@require_GET
@cache_control(max_age=3600)
def icon(request, size: int, maskable: bool = False):
    if size not in PNG_SIZES:
        raise Http404("No icon of that size.")
    brand = _brand(request)
    body = icon_png(background=brand["primary"], foreground=brand["on_primary"], initial=brand["initial"],
                    size=size, maskable=maskable)
    return HttpResponse(body, content_type="image/png")


def _short_name(name: str) -> str:
    if len(name) <= 12:
        return name
    first = name.split()[0]
    return first if len(first) <= 12 else name[:12]


@require_GET
@cache_control(max_age=300)
def manifest(request):
    brand = _brand(request)
    data = {
        "id": "/",
        "name": brand["name"],
        "short_name": _short_name(brand["name"]),
        "description": brand["tagline"] or translation.gettext("Save together, step by step."),
        "lang": translation.get_language(),
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": BACKGROUND,
        "theme_color": brand["primary"],
        "icons": [
            {"src": "/favicon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


def _reverse_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def service_worker_config() -> dict:
    shell = [static("css/app.css"), static("js/app.js"), "/favicon.svg", "/manifest.webmanifest",
             "/icons/icon-192.png"]
    offline_url = reverse("offline")
    pages = [u for u in (_reverse_or_none(n) for n in OFFLINE_PAGE_NAMES) if u]
    prefixes = [u for u in (_reverse_or_none(n) for n in OFFLINE_PREFIX_NAMES) if u and u != "/"]
    languages = [code for code, _name in settings.LANGUAGES]
    version = hashlib.sha256(json.dumps([shell, pages, prefixes, offline_url, languages]).encode()).hexdigest()[:12]
    return {"shell": shell, "offline": offline_url, "pages": pages, "prefixes": prefixes, "version": version,
            "languages": languages}


@require_GET
@never_cache
def service_worker(request):
    _brand(request)
    config = service_worker_config()
    body = render_to_string("web/sw.js", {"config_json": json.dumps(config)})
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline(request):
    """The offline page; `?lang=` renders it in that language, so the service worker keeps one per language
    and shows the one the member last used (issue 16 item 14). Any other value is a 400 naming `lang`."""
    lang = request.GET.get("lang")
    if lang is None:
        return render(request, "web/offline.html", {})
    if lang not in dict(settings.LANGUAGES):
        return JsonResponse({"lang": [f"One of: {', '.join(code for code, _n in settings.LANGUAGES)}."]}, status=400)
    with translation.override(lang):
        response = render(request, "web/offline.html", {})
    response["Content-Language"] = lang
    return response
