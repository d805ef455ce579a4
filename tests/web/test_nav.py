"""Both navigations link every section that exists and mark the one being shown (aria-current)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse

MEMBER_SECTIONS = ["home", "challenge-list", "save-now", "badges", "transaction-list", "profile"]
MANAGE_SECTIONS = ["manage-overview", "manage-challenges", "manage-members", "manage-transactions", "manage-unmatched",
                   "manage-mpesa", "manage-notifications", "manage-analytics", "manage-settings", "manage-audit"]


def _nav(html: str, css_class: str) -> str:
    return re.search(rf'<nav class="{css_class}".*?</nav>', html, re.S).group(0)


def _current(nav: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)" aria-current="page"', nav)


def _walk(client, pages: dict, urls: dict, nav_class: str) -> None:
    """Open every page: its nav links every section and marks exactly the expected one."""
    for name, (path, section) in pages.items():
        response = client.get(path)
        assert response.status_code == 200, name
        nav = _nav(response.content.decode(), nav_class)
        for url in urls.values():
            assert f'href="{url}"' in nav, (name, url)
        assert _current(nav) == [section], name


@pytest.fixture
def challenge(tenant):
    from challenges.models import Challenge

    return Challenge.objects.create(name="Weekly 500", type="fixed_amount", target={"amount": 500, "frequency": "weekly"},
                                    duration_days=28, start_date=date.today() - timedelta(days=3), status="active")


def test_member_nav_links_every_section_and_marks_the_current_one(signed_in, member, challenge):
    from challenges.services import participant_join

    participant_join(challenge=challenge, user=member)
    client = signed_in(member)
    urls = {name: reverse(name) for name in MEMBER_SECTIONS}
    pages = {name: (url, url) for name, url in urls.items()}
    # sub-pages of the challenge section mark "Challenges"
    pages["challenge-detail"] = (reverse("challenge-detail", args=[challenge.pk]), urls["challenge-list"])
    pages["challenge-leaderboard"] = (reverse("challenge-leaderboard", args=[challenge.pk]), urls["challenge-list"])
    _walk(client, pages, urls, "bottom-nav")
    home = client.get("/").content.decode()  # the home card leads to my challenge's leaderboard
    assert f'href="{reverse("challenge-leaderboard", args=[challenge.pk])}"' in home


def test_leader_nav_links_every_section_and_marks_the_current_one(signed_in, org_admin, challenge):
    client = signed_in(org_admin)
    urls = {name: reverse(name) for name in MANAGE_SECTIONS}
    pages = {name: (url, url) for name, url in urls.items()}
    pages["manage-challenge-new"] = (reverse("manage-challenge-new"), urls["manage-challenges"])
    pages["manage-challenge-edit"] = (reverse("manage-challenge-edit", args=[challenge.pk]), urls["manage-challenges"])
    _walk(client, pages, urls, "manage-nav")
