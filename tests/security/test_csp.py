"""Content-Security-Policy without 'unsafe-inline' for scripts and styles (issue 14, item 11).

Three checks: every HTML page (member, leader, public, the platform admin, the API docs, the error
pages) sends a policy whose script-src and style-src allow only our origin and this response's
nonce; what those pages render has no inline handler, no style="" attribute and no executable
inline <script>/<style> without that nonce; and no template in the project can bring one back.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import reverse

from tests.test_pages_smoke import LEADER_PAGES, MEMBER_PAGES, PUBLIC_PAGES, _urls
from tests.test_pages_smoke import demo  # noqa: F401 - fixture

ROOT = Path(settings.BASE_DIR)
JSON_TYPES = {"application/json", "application/ld+json", "importmap"}  # data blocks: never executed


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


class _InlineFinder(HTMLParser):
    """Collects what a strict policy would refuse, given the response's nonce."""

    def __init__(self, nonce: str | None):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems: list[str] = []
        self._open: tuple[str, dict] | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        for name, _value in attrs:
            if name == "style":
                self.problems.append(f"<{tag} style=...>")
            elif name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag in ("script", "style"):
            self._open, self._text = (tag, named), ""

    def handle_data(self, data):
        if self._open:
            self._text += data

    def handle_endtag(self, tag):
        if not self._open or tag != self._open[0]:
            return
        kind, attrs = self._open
        self._open = None
        if kind == "script" and ("src" in attrs or attrs.get("type") in JSON_TYPES):
            return
        if not self._text.strip():
            return
        if not self.nonce or attrs.get("nonce") != self.nonce:
            self.problems.append(f"inline <{kind}> without this response's nonce: {self._text.strip()[:60]!r}")


def csp_problems(response) -> list[str]:
    """What is wrong with one HTML response's policy and markup (empty: fine)."""
    header = response.get("Content-Security-Policy", "")
    if not header:
        return ["no Content-Security-Policy header"]
    directives = _directives(header)
    problems = []
    for name in ("script-src", "style-src"):
        sources = directives.get(name)
        if sources is None:
            problems.append(f"no {name}")
            continue
        allowed = [s for s in sources if s != "'self'" and not s.startswith("'nonce-")]
        if allowed:
            problems.append(f"{name} allows {allowed}")
    if directives.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors is not 'none'")
    nonces = {s[len("'nonce-"):-1] for s in directives.get("script-src", []) + directives.get("style-src", [])
              if s.startswith("'nonce-")}
    finder = _InlineFinder(next(iter(nonces)) if len(nonces) == 1 else None)
    finder.feed(response.content.decode())
    return problems + finder.problems


def _walk(client, urls) -> list[str]:
    problems = []
    for name, url in urls:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        assert response.status_code == 200, (name, url, response.status_code)
        problems += [f"{name} {url}: {p}" for p in csp_problems(response)]
    return problems


def test_every_member_page_sends_a_strict_policy(demo, client_for, org):  # noqa: F811
    client = client_for(org)
    client.force_login(demo[0])
    assert _walk(client, _urls(MEMBER_PAGES, member=demo[0])) == []


def test_every_leader_page_sends_a_strict_policy(demo, client_for, org, org_admin):  # noqa: F811
    client = client_for(org)
    client.force_login(org_admin)
    assert _walk(client, _urls(LEADER_PAGES, member=demo[0])) == []


def test_public_pages_login_and_api_docs_send_a_strict_policy(demo, client_for, org):  # noqa: F811
    client = client_for(org)
    urls = [(name, reverse(name)) for name in PUBLIC_PAGES] + [("api-docs", "/api/v1/docs/")]
    assert _walk(client, urls) == []
    # Swagger UI's init script is its own request (same origin), not an inline block
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "javascript" in script["Content-Type"]


def test_error_pages_send_a_strict_policy(tenant, org):
    client = Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and csp_problems(missing) == []
    assert csp_problems(Client(HTTP_HOST="nobody.localhost").get("/")) == []  # unknown host page


@pytest.mark.urls("tests.security.urls_boom_pages")
def test_the_500_page_styles_itself_with_the_nonce(tenant, org):
    response = Client(HTTP_HOST=f"{org.slug}.localhost", raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert csp_problems(response) == []
    assert b'<style nonce="' in response.content  # styled, not a bare page


def test_platform_landing_and_every_admin_page_send_a_strict_policy(db, org):
    from accounts.models import User

    owner = User.objects.create_superuser("+254799000077", password="a-long-platform-password")
    anonymous = Client(HTTP_HOST="localhost")
    problems = [f"landing: {p}" for p in csp_problems(anonymous.get("/"))]
    problems += [f"admin login: {p}" for p in csp_problems(anonymous.get("/admin/login/"))]
    client = Client(HTTP_HOST="localhost")
    client.force_login(owner)
    urls = [("admin index", "/admin/"), ("password change", "/admin/password_change/")]
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_config.name not in settings.SHARED_APPS:  # its tables live in tenant schemas only
            continue
        for view in ("changelist", "add"):
            urls.append((f"{meta.label} {view}", reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}",
                                                         urlconf=settings.PUBLIC_SCHEMA_URLCONF)))
    urls.append(("organization change", reverse("admin:tenants_organization_change", args=[org.pk],
                                                urlconf=settings.PUBLIC_SCHEMA_URLCONF)))
    for name, url in urls:
        response = client.get(url)
        if response.status_code in (302, 403):  # a model the admin may not add (read-only logs)
            continue
        assert response.status_code == 200, (name, url, response.status_code)
        problems += [f"{name} {url}: {p}" for p in csp_problems(response)]
    assert problems == []


def test_the_nonce_is_fresh_per_response_and_only_named_when_used(tenant, org):
    client = Client(HTTP_HOST=f"{org.slug}.localhost")
    first, second = client.get("/login/"), client.get("/login/")
    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"]).group(1)
    assert nonce not in second["Content-Security-Policy"]
    assert f'nonce="{nonce}"'.encode() in first.content
    api = client.get("/api/v1/challenges")  # no template, no nonce in its policy
    assert "'nonce-" not in api["Content-Security-Policy"] and "script-src 'self'" in api["Content-Security-Policy"]


@override_settings(DEBUG=True)
def test_debug_technical_pages_keep_the_framing_policy(tenant, org):
    """With DEBUG (make run) django-csp leaves its 404/500 bare (Django's technical pages are inline
    styled); SecurityHeadersMiddleware still forbids framing on them."""
    response = Client(HTTP_HOST=f"{org.slug}.localhost").get("/no-such-page/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


# --- the templates themselves ---------------------------------------------------------------------
def _project_templates() -> list[Path]:
    dirs = [ROOT / "templates", *sorted(ROOT.glob("*/templates")), *sorted(ROOT.glob("*/*/templates"))]
    return [p for d in dirs if ".venv" not in d.parts for p in sorted(d.rglob("*.html"))]


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\bnonce=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b(?![^>]*\bnonce=)[^>]*>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\s(on[a-z]+)\s*=", re.I)
STYLE_ATTR = re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I)


def template_problems(text: str) -> list[str]:
    found = []
    for pattern, what in ((INLINE_SCRIPT, "inline <script> without a nonce"), (INLINE_STYLE, "inline <style> without a nonce"),
                          (HANDLER, "inline event handler"), (STYLE_ATTR, "style= attribute")):
        found += [f"{what}: {m.group(0)[:60]!r}" for m in pattern.finditer(text)]
    return found


def test_no_template_has_inline_script_handlers_or_style_attributes():
    templates = _project_templates()
    assert len(templates) > 40 and any(p.name == "base.html" for p in templates)
    problems = [f"{p.relative_to(ROOT)}: {problem}" for p in templates for problem in template_problems(p.read_text())]
    assert problems == []


def test_no_python_code_writes_a_style_attribute_or_handler():
    """format_html and friends: HTML built in code obeys the same rule (the admin's status column did not)."""
    problems = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if {".venv", "tests", "migrations", "node_modules", "bench"} & set(path.relative_to(ROOT).parts):
            continue
        for m in re.finditer(r"""<[a-z][^>'"]*\s(style|on[a-z]+)=""", path.read_text()):
            problems.append(f"{path.relative_to(ROOT)}: {m.group(0)}")
    assert problems == []


def test_the_template_check_catches_each_kind():
    assert len(template_problems('<script>alert(1)</script><style>a{}</style>'
                                 '<button onclick="x()">b</button><p style="color:red">')) == 4
    assert template_problems('<script src="/s.js" defer></script><style nonce="{{ request.csp_nonce }}">a{}</style>'
                             '<script nonce="{{ n }}">x</script><p data-style="x" class="onion">') == []


@override_settings(LIVE_PORT="8001")
def test_the_live_tiers_own_port_is_allowed_for_streams_only(tenant, org):
    """`make run` opens streams on LIVE_PORT of the same host: connect-src names that origin, nothing else does."""
    header = Client(HTTP_HOST=f"{org.slug}.localhost").get("/login/")["Content-Security-Policy"]
    directives = _directives(header)
    assert directives["connect-src"] == ["'self'", f"http://{org.slug}.localhost:8001"]
    assert directives["default-src"] == ["'self'"] and "8001" not in directives["script-src"]
