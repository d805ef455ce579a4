"""Every message gamification sends carries the fields its template shows: each flow runs for real,
the context it hands to notify(...) is checked against notifications' PLACEHOLDERS and rendered
with the default wording in both languages, and nothing renders blank or as a stray brace."""

from __future__ import annotations

import re
from datetime import date, datetime

from challenges.services import challenges_lifecycle, participant_join, streaks_at_risk, team_create, team_join
from tests.challenges.conftest import NAIROBI

GAMIFICATION_TEMPLATES = {"deposit_confirmed", "badge_earned", "top5_entered", "team_goal_reached",
                          "challenge_started", "challenge_ended", "streak_at_risk"}


def _check(template: str, context: dict) -> None:
    from notifications import content

    needed = set(content.PLACEHOLDERS[template]) - {"org", "name"}
    assert needed <= set(context), (template, sorted(needed - set(context)))
    for language in content.LANGUAGES:
        title, body = content.DEFAULTS[template][language]
        text = content.render(body, {"org": "Umoja", "name": "Akinyi", **context})
        assert "{" not in text and "}" not in text and "#." not in text and "()" not in text, (template, text)
        assert not re.search(r"[:#(]\s*[.,)]", text), (template, text)
        # a field the template shows was sent: its value appears in the message (or the sentence
        # was left out only because the value is legitimately empty)
        for name in needed:
            value = context[name]
            if value not in ("", None) and "{" + name + "}" in body:
                assert str(value) in text, (template, name, text)


def test_every_gamification_message_has_the_fields_its_template_shows(make_challenge, make_member, record_deposit,
                                                                       frozen_today, notifications):
    frozen_today(date(2026, 3, 2))
    fixed = make_challenge(type="fixed_amount", target={"amount": "100", "frequency": "weekly"},
                           start=date(2026, 3, 2), days=7, name="Sprint")
    streak = make_challenge(type="streak", target={"consecutive_weeks": 4}, start=date(2026, 3, 2), days=42,
                            name="Streak")
    group = make_challenge(type="group", target={"team_amount": "1000", "min_members": 2}, start=date(2026, 3, 2),
                           days=28, name="Group")
    for n in range(5):  # five earlier joiners fill the top 5 before anyone saves
        participant_join(challenge=fixed, user=make_member(name=f"F{n}"))
    a, b = make_member(name="A", language="sw"), make_member(name="B")
    for user in (a, b):
        participant_join(challenge=fixed, user=user)
        participant_join(challenge=streak, user=user)
    team = team_create(challenge=group, user=a, name="Simba")
    team_join(team=team, user=b)
    challenges_lifecycle()  # challenge_started on the first day
    record_deposit(a, "900", date(2026, 3, 3))  # deposit_confirmed, badge_earned, top5_entered
    record_deposit(b, "200", date(2026, 3, 3))  # team reaches 1,100 >= 1,000: team_goal_reached
    record_deposit(a, "50", date(2026, 3, 4), score=True)
    assert streaks_at_risk(now=datetime(2026, 3, 15, 19, 0, tzinfo=NAIROBI)) == 2
    frozen_today(date(2026, 3, 9))
    challenges_lifecycle()  # Sprint ends: challenge_ended with result, rank and badges

    sent = {template for _, template, _ in notifications}
    assert GAMIFICATION_TEMPLATES <= sent, GAMIFICATION_TEMPLATES - sent
    for _, template, context in notifications:
        _check(template, context)
    ended = {uid: c for uid, t, c in notifications if t == "challenge_ended"}
    assert (ended[b.pk]["result"], ended[b.pk]["rank"]) == ("Completed", 2)
    assert ended[a.pk]["rank"] == 1 and ended[a.pk]["badges"]  # the winner's champion badge is named
    assert ended[a.pk]["result"] != "completed"  # a label in the member's language, not the status code


def test_notifications_own_contexts_fill_their_templates(tenant, make_member):
    from notifications.selectors import weekly_summary_context

    member = make_member(name="C")
    _check("weekly_summary", weekly_summary_context(member))
    _check("broadcast", {"message": "Mkutano Jumamosi."})


def test_deposit_reversed_fills_its_template(make_challenge, make_member, record_deposit, frozen_today, notifications,
                                             org_admin, django_capture_on_commit_callbacks):
    from notifications import content
    from payments.services import transaction_reverse

    frozen_today(date(2026, 3, 4))
    challenge = make_challenge(type="streak", target={"consecutive_weeks": 2}, start=date(2026, 3, 2), days=28,
                               name="Streak")
    saver = make_member(name="S", language="sw")
    participant_join(challenge=challenge, user=saver)
    counted = record_deposit(saver, "1500", date(2026, 3, 3))
    nowhere = record_deposit(make_member(name="N"), "80", date(2026, 3, 3))  # joined no challenge
    for tx in (counted, nowhere):
        with django_capture_on_commit_callbacks(execute=True):
            transaction_reverse(transaction_id=tx.pk, reason="refund", actor=org_admin)
    contexts = [c for _, t, c in notifications if t == "deposit_reversed"]
    for context in contexts:
        _check("deposit_reversed", context)
    full, short = (content.render(content.DEFAULTS["deposit_reversed"][lang][1], {"org": "Umoja", **c})
                   for lang, c in zip(("sw", "en"), contexts, strict=True))
    assert full == "Umoja: Amana yako ya KES 1,500.00 imerejeshwa. Pointi 1550 zimeondolewa katika Streak."
    assert short == "Umoja: Your deposit of KES 80.00 was reversed."


def test_team_goal_lost_fills_its_template(make_challenge, make_member, record_deposit, frozen_today, notifications,
                                           org_admin, django_capture_on_commit_callbacks):
    from notifications import content
    from payments.services import transaction_reverse

    frozen_today(date(2026, 3, 4))
    group = make_challenge(type="group", target={"team_amount": "1000", "min_members": 2}, start=date(2026, 3, 2),
                           days=28, name="Group")
    a, b = make_member(name="A", language="sw"), make_member(name="B")
    team = team_create(challenge=group, user=a, name="Simba")
    team_join(team=team, user=b)
    record_deposit(a, "700", date(2026, 3, 3))
    refund = record_deposit(b, "300", date(2026, 3, 3))  # the team reaches 1,000
    with django_capture_on_commit_callbacks(execute=True):
        transaction_reverse(transaction_id=refund.pk, reason="refund", actor=org_admin)
    ((user_id, context),) = [(u, c) for u, t, c in notifications if t == "team_goal_lost"]
    assert user_id == a.pk
    _check("team_goal_lost", context)
    text = content.render(content.DEFAULTS["team_goal_lost"]["sw"][1], {"org": "Umoja", **context})
    assert text == ("Umoja: Amana kwa timu yako Simba imerejeshwa, hivyo timu iko chini ya lengo katika Group tena."
                    f" Pointi {context['points']} zimeondolewa.")
    assert content.sms_size(text).segments == 1  # one SMS: the chama pays per segment
    assert context["points"] > 0
