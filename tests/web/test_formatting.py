"""Issue 16.13: money, points and dates read one way, per language, in pages and in messages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import translation

from savegame import formatting


@pytest.mark.parametrize("language", ["en", "sw"])
def test_one_formatter_for_money_points_and_dates(language):
    with translation.override(language):
        assert formatting.money("4600") == "KES 4,600.00" and formatting.money(Decimal("20000")) == "KES 20,000.00"
        assert formatting.points(10000) == "10,000"
        assert formatting.day("2026-12-22") == ("22 Dec 2026" if language == "en" else "22 Des 2026")
        assert formatting.day(date(2026, 12, 7), weekday=True, year=False) == (
            "Mon 7 Dec" if language == "en" else "Jtatu 7 Des")


def test_kiswahili_month_names_are_one_spelling():
    with translation.override("sw"):
        assert [formatting.day(date(2026, m, 1)).split()[1] for m in range(1, 13)] == [
            "Jan", "Feb", "Mac", "Apr", "Mei", "Jun", "Jul", "Ago", "Sep", "Okt", "Nov", "Des"]
        from django.template import Context, Template

        assert Template('{{ d|date:"F" }}').render(Context({"d": date(2026, 12, 1)})) == "Desemba"
        assert Template("{% load humanize %}{{ n|intcomma }}").render(Context({"n": 10000})) == "10,000"


def test_sms_dates_and_amounts_are_written_for_people(tenant, django_capture_on_commit_callbacks):
    from accounts.factories import UserFactory
    from notifications.models import Notification
    from notifications.services import notify

    en = UserFactory(phone_number="+254712000401", name="A", language="en")
    sw = UserFactory(phone_number="+254712000402", name="B", language="sw")
    for user in (en, sw):
        notify(user=user, template="challenge_started", context={"challenge": "Dec", "end_date": "2026-12-22"})
        notify(user=user, template="weekly_summary", context={"saved_week": "2650", "total_saved": "12500"})
    messages = dict(((n.user_id, n.template), n.message) for n in Notification.objects.all())
    assert "Save by 22 Dec 2026" in messages[(en.pk, "challenge_started")]
    assert "hadi 22 Des 2026" in messages[(sw.pk, "challenge_started")]
    assert "2026-12-22" not in " ".join(messages.values())
    assert "KES 2,650." in messages[(sw.pk, "weekly_summary")] and "KES 12,500." in messages[(en.pk, "weekly_summary")]


@pytest.mark.parametrize("language", ["en", "sw"])
def test_pages_write_money_points_and_dates_one_way(signed_in, member, tenant, language):
    from challenges.models import Challenge, Participant
    from challenges.services import participant_join

    member.language = language
    member.save(update_fields=["language"])
    goal = Challenge.objects.create(name="Goal", type="percentage", target={"increase": 10, "min_amount": 20000},
                                    duration_days=28, start_date=date.today() - timedelta(days=2), status="active")
    weekly = Challenge.objects.create(name="Weekly", type="fixed_amount", target={"amount": 1500, "frequency": "weekly"},
                                      duration_days=28, start_date=date.today() - timedelta(days=1), status="active")
    participant_join(challenge=goal, user=member)
    participant_join(challenge=weekly, user=member)
    Participant.objects.filter(challenge=goal).update(points=10000, progress={
        "type": "percentage", "baseline": "0.00", "goal": "20000.00", "saved": "4600.00", "ratio": "0.23"})
    client = signed_in(member)
    detail = client.get(f"/challenges/{goal.pk}/").content.decode()
    assert "KES 4,600.00" in detail and "KES 20,000.00" in detail and "4600.00" not in detail
    assert "10,000" in detail and goal.start_date.isoformat() not in detail
    with translation.override(language):
        assert formatting.day(goal.start_date) in detail
    rules = client.get(f"/challenges/{weekly.pk}/").content.decode()
    assert "KES 1,500.00" in rules and not re.search(r"\d{4}-\d{2}-\d{2}", rules.split('id="rules-heading"')[1].split("</ul>")[0])
    home = client.get("/").content.decode()
    assert "10,000" in home
