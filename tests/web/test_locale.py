"""Which language a page speaks: org default, browser (sw first), the switch, the member's own."""

import re

import pytest

from web.locale import browser_prefers_kiswahili
from tenants.services import organization_update


def html_lang(response) -> str:
    return re.search(rb'<html lang="([a-z-]+)"', response.content).group(1).decode()


@pytest.fixture
def kiswahili_org(org, db):
    before = dict(org.branding)
    organization_update(organization=org, data={"branding": {**before, "language": "sw"}})
    yield org
    organization_update(organization=org, data={"branding": before})


def test_english_by_default(client_for, org, db):
    response = client_for(org).get("/offline/")
    assert response.status_code == 200
    assert html_lang(response) == "en"
    assert b"You are offline" in response.content


def test_the_organizations_language_is_the_default(client_for, kiswahili_org):
    response = client_for(kiswahili_org).get("/offline/")
    assert html_lang(response) == "sw"
    assert "Huna mtandao".encode() in response.content


@pytest.mark.parametrize("header, expected", [
    ("sw", "sw"), ("sw-KE,sw;q=0.9,en;q=0.8", "sw"), ("en-US,en;q=0.9,sw;q=0.8", "en"), ("fr,sw;q=0.5", "en"), ("", "en"),
])
def test_browser_asking_for_kiswahili_first(client_for, org, db, header, expected):
    response = client_for(org).get("/offline/", HTTP_ACCEPT_LANGUAGE=header)
    assert html_lang(response) == expected
    assert "Accept-Language" in response["Vary"]


def test_browser_preference_parser():
    assert browser_prefers_kiswahili("sw-TZ;q=0.9, en;q=0.3")
    assert not browser_prefers_kiswahili("en;q=0.9, sw;q=0.8")
    assert not browser_prefers_kiswahili("*")


def test_the_switch_sets_a_cookie_and_wins_over_the_org_default(client_for, kiswahili_org):
    client = client_for(kiswahili_org)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/offline/"})
    assert response.status_code == 302 and response["Location"] == "/offline/"
    assert client.cookies["django_language"].value == "en"
    assert html_lang(client.get("/offline/", HTTP_ACCEPT_LANGUAGE="sw")) == "en"


def test_a_members_own_language_wins_when_signed_in(signed_in, member, tenant):
    from savegame.services import model_update

    model_update(instance=member, fields=["language"], data={"language": "sw"})
    client = signed_in(member)
    client.cookies["django_language"] = "en"
    assert html_lang(client.get("/offline/")) == "sw"


def test_switching_while_signed_in_is_remembered_on_the_profile(signed_in, member, tenant):
    client = signed_in(member)
    client.post("/i18n/setlang/", {"language": "sw", "next": "/"})
    member.refresh_from_db()
    assert member.language == "sw"
    client.cookies.clear()
    client.force_login(member)
    assert html_lang(client.get("/profile/")) == "sw"


def test_a_kiswahili_request_does_not_leave_the_thread_in_kiswahili(client_for, org, db):
    from django.utils import translation

    before = translation.get_language()
    assert html_lang(client_for(org).get("/offline/", HTTP_ACCEPT_LANGUAGE="sw")) == "sw"
    assert translation.get_language() == before != "sw"
