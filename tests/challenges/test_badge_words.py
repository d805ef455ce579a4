"""Locked badges say how to earn them in the member's language, with numbers written as people write them."""

from __future__ import annotations

import pytest
from django.utils import translation

from challenges.badges import criteria_explain, number_words

ALL_ROUNDER = {"all": [{"metric": "challenges_joined", "gte": 3},
                       {"any": [{"metric": "best_streak_weeks", "gte": 4}, {"metric": "total_saved", "gte": 10000}]}]}


@pytest.mark.parametrize("rule, english, kiswahili", [
    ({"metric": "deposits_count", "gte": 1}, "at least 1 verified deposit", "angalau amana 1 iliyothibitishwa"),
    ({"metric": "deposits_count", "gte": 5}, "at least 5 verified deposits", "angalau amana 5 zilizothibitishwa"),
    ({"metric": "total_saved", "gte": 10000}, "at least KES 10,000 saved in total",
     "angalau KES 10,000 zilizowekwa kwa jumla"),
    ({"metric": "largest_deposit", "lt": "2500.5"}, "less than KES 2,500.50 in a single deposit",
     "chini ya KES 2,500.50 kwa amana moja"),
    ({"metric": "challenge_rank", "eq": 1}, "rank 1 in this challenge", "nafasi ya 1 katika changamoto hii"),
    ({"metric": "best_final_rank", "lte": 3}, "rank 3 or better at the end of a challenge",
     "nafasi ya 3 au bora zaidi mwishoni mwa changamoto"),
    ({"metric": "challenge_completed", "eq": 1}, "complete this challenge", "kukamilisha changamoto hii"),
    (ALL_ROUNDER,
     "at least 3 challenges joined and (at least 4 weeks in a row with a deposit or at least KES 10,000 saved "
     "in total)",
     "angalau changamoto 3 ulizojiunga nazo na (angalau wiki 4 mfululizo zenye amana au angalau KES 10,000 "
     "zilizowekwa kwa jumla)"),
])
def test_criteria_in_both_languages(rule, english, kiswahili):
    with translation.override("en"):
        assert criteria_explain(rule) == english
    with translation.override("sw"):
        assert criteria_explain(rule) == kiswahili


def test_numbers_are_grouped_and_keep_cents_only_when_there_are_some():
    assert [number_words(v) for v in (1, "100000", "2500.5", "12.00", "abc")] == [
        "1", "100,000", "2,500.50", "12", "abc"]


def test_a_kiswahili_member_sees_kiswahili_how_to_earn(make_member, api_client_for, client_for, org):
    member = make_member(name="Wanjiru", language="sw")
    api = api_client_for(org)
    api.force_authenticate(member)
    body = api.get(f"/api/v1/members/{member.pk}/achievements").json()
    locked = {b["slug"]: b["how_to_earn"] for b in body["locked"]}
    assert locked["first-deposit"] == "angalau amana 1 iliyothibitishwa"
    assert locked["saved-10k"] == "angalau KES 10,000 zilizowekwa kwa jumla"
    web = client_for(org)
    web.force_login(member)
    page = web.get("/badges/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Jinsi ya kupata" in page and "angalau amana 1 iliyothibitishwa" in page
    assert "verified deposit" not in page


def test_an_english_member_reads_english_whatever_the_browser_says(make_member, api_client_for, org):
    member = make_member(name="Jane", language="en")
    api = api_client_for(org)
    api.force_authenticate(member)
    body = api.get(f"/api/v1/members/{member.pk}/achievements", HTTP_ACCEPT_LANGUAGE="sw").json()
    assert {b["slug"]: b["how_to_earn"] for b in body["locked"]}["first-deposit"] == "at least 1 verified deposit"
