"""Every member and leader page renders over HTTP on the demo data: 200, and no template variable
printed without a value (a `{{ x.y }}` that fails to resolve and has no `default` filter: the page
would show an empty gap where the author expected text)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from web.demo import DEMO_APPS, DEMO_ORGS

# URL names of pages (GET). The ones taking an id are filled from the demo data below.
MEMBER_PAGES = ["home", "challenge-list", "challenge-detail", "challenge-leaderboard", "badges", "transaction-list",
                "save-now", "save-status", "profile", "offline", "my-statement", "goal-list"]
LEADER_PAGES = ["manage-overview", "manage-challenges", "manage-challenge-new", "manage-challenge-edit",
                "manage-members", "manage-member-import", "manage-member-statement", "manage-group-statement",
                "manage-transactions", "manage-manual-deposits", "manage-unmatched", "manage-mpesa", "manage-notifications",
                "manage-analytics", "manage-analytics-export", "manage-settings", "manage-audit"]
PUBLIC_PAGES = ["login", "offline", "manifest", "favicon"]


@pytest.fixture
def demo(tenant, org):
    """The demo organization's members and every app's demo data, seeded into `org` as seed_demo does."""
    import importlib

    from accounts.models import User
    from accounts.services import user_create

    spec = DEMO_ORGS[0]
    members = [User.objects.filter(phone_number=phone).first() or user_create(phone_number=phone, name=name)
               for name, phone in spec["members"]]
    for app in DEMO_APPS:
        importlib.import_module(f"{app}.demo").seed(org, members)
    return members


@pytest.fixture
def strict_templates(monkeypatch):
    """Record every printed variable that fails to resolve (filters `default`/`default_if_none`
    and tags that ignore failures, such as `{% if %}` and `{% for %}`, are the author's choice)."""
    from django.template.base import FilterExpression, Variable, VariableDoesNotExist

    misses: list[str] = []
    original = FilterExpression.resolve

    def resolve(self, context, ignore_failures=False):
        if not ignore_failures and isinstance(self.var, Variable) and not any(
                func.__name__ in ("default", "default_if_none") for func, _args in self.filters):
            try:
                self.var.resolve(context)
            except VariableDoesNotExist:
                misses.append(self.token)
        return original(self, context, ignore_failures)

    monkeypatch.setattr(FilterExpression, "resolve", resolve)
    return misses


def _urls(names: list[str], *, member) -> list[tuple[str, str]]:
    from challenges.models import Challenge
    from payments.models import Transaction

    challenges = list(Challenge.objects.exclude(status="draft").order_by("pk"))
    assert challenges, "the demo has challenges"
    tx = Transaction.objects.filter(user=member).order_by("pk").first()
    assert tx is not None, "the demo member has transactions"
    urls = []
    for name in names:
        if name in ("challenge-detail", "challenge-leaderboard", "manage-challenge-edit"):
            urls += [(f"{name}:{c.name}", reverse(name, args=[c.pk])) for c in challenges]
        elif name == "save-status":
            urls.append((name, reverse(name, args=[tx.pk])))
        elif name == "manage-member-statement":
            urls.append((name, reverse(name, args=[member.pk])))
        elif name == "manage-analytics-export":
            from analytics.views import REPORTS

            urls += [(f"{name}:{r}", reverse(name, args=[r])) for r in REPORTS]
        else:
            urls.append((name, reverse(name)))
    return urls


def _check(client, urls, misses: list[str]) -> list[str]:
    problems = []
    for name, url in urls:
        misses.clear()
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        if response.status_code != 200:
            problems.append(f"{name} {url}: HTTP {response.status_code}")
        if misses:
            problems.append(f"{name} {url}: unresolved {sorted(set(misses))}")
    return problems


def test_every_member_page_renders_on_demo_data(demo, client_for, org, strict_templates):
    member = demo[0]
    client = client_for(org)
    client.force_login(member)
    urls = _urls(MEMBER_PAGES, member=member)
    assert _check(client, urls, strict_templates) == []


def test_every_leader_page_renders_on_demo_data(demo, client_for, org, org_admin, strict_templates):
    client = client_for(org)
    client.force_login(org_admin)
    urls = _urls(LEADER_PAGES, member=demo[0])
    assert _check(client, urls, strict_templates) == []


def test_public_pages_render(demo, client_for, org, strict_templates):
    assert _check(client_for(org), [(name, reverse(name)) for name in PUBLIC_PAGES], strict_templates) == []


def test_the_check_catches_an_unresolved_variable(strict_templates):
    from django.template import Context, Template

    Template("{{ tx.user.display_name }}|{{ tx.challenge.name|default:'-' }}{% if nope %}{{ nope }}{% endif %}").render(
        Context({"tx": {"user": None}}))
    assert strict_templates == ["tx.user.display_name"]
