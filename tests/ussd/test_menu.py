"""The USSD menu over HTTP with Africa's Talking's real payloads: every path, in English and Kiswahili."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client, override_settings

from accounts.models import AuditEvent
from challenges.models import Participant
from tests.ussd.conftest import PHONE, SERVICE_CODE, UssdPhone

LANGUAGES = ["en", "sw"]
# A few words each screen must show, per language.
WORDS = {
    "main": {"en": "1. My savings & points", "sw": "1. Akiba na pointi zangu"},
    "savings": {"en": "Saved: KES 1,500", "sw": "Akiba: KES 1,500"},
    "points": {"en": "Points: 1,500", "sw": "Pointi: 1,500"},
    "rank": {"en": "#1 of 1", "sw": "#1 kati ya 1"},
    "no_rank": {"en": "not joined a challenge", "sw": "Bado hujajiunga"},
    "join_list": {"en": "Choose a challenge:", "sw": "Chagua shindano:"},
    "joined": {"en": "You joined December Sprint", "sw": "Umejiunga na December Sprint"},
    "nothing": {"en": "no challenge to join", "sw": "Hakuna shindano"},
    "amount": {"en": "How much do you want to save?", "sw": "Unataka kuweka akiba ya kiasi gani?"},
    "amount_bad": {"en": "Enter a whole amount", "sw": "Weka kiasi kamili"},
    "towards": {"en": "Save KES 500 towards:", "sw": "Weka KES 500 kwa:"},
    "prompt": {"en": "You will get an M-Pesa prompt for KES 500", "sw": "Utapokea ombi la M-Pesa la KES 500"},
    "invalid": {"en": "Invalid choice.", "sw": "Chaguo si sahihi."},
    "more": {"en": "1. My last 5 deposits", "sw": "1. Amana zangu 5 za mwisho"},
    "deposits": {"en": "Last deposits:", "sw": "Amana za mwisho:"},
    "no_deposits": {"en": "You have no deposits yet", "sw": "Bado huna amana"},
    "sent": {"en": "by SMS", "sw": "kwa SMS"},
    "unknown": {"en": "Ask your group leader to add you", "sw": "Muulize kiongozi wa kikundi chako akuongeze"},
}


@pytest.fixture(params=LANGUAGES)
def lang(request, saver):
    saver.language = request.param
    saver.save(update_fields=["language"])
    return request.param


def test_first_screen_is_the_main_menu_in_the_members_language(ussd_phone, lang):
    body = ussd_phone().dial()
    assert body.startswith("CON Alpha Chama\n") and WORDS["main"][lang] in body
    assert body.count("\n") == 5  # the organization and 5 options


def test_my_savings_and_points_come_from_the_ledger_and_the_award_rows(ussd_phone, lang, saver, deposit,
                                                                       live_challenge):
    from challenges.selectors import member_points
    from challenges.services import participant_join
    from payments.selectors import member_savings

    participant_join(challenge=live_challenge(), user=saver)
    deposit(saver, 1000)
    deposit(saver, 500)
    body = ussd_phone().run("1")
    points = member_points(member=saver)  # 1,500 for the shillings plus the early-bird bonus
    assert member_savings(user=saver)["total_saved"] == 1500 and points > 1500
    assert body.startswith("END ") and WORDS["savings"][lang] in body
    assert WORDS["points"][lang].replace("1,500", f"{points:,}") in body and "2" in body.splitlines()[-1]


def test_my_rank_in_my_challenges(ussd_phone, lang, saver, deposit, live_challenge):
    from challenges.services import participant_join

    assert WORDS["no_rank"][lang] in ussd_phone().run("2")
    participant_join(challenge=live_challenge(), user=saver)
    deposit(saver, 200)
    body = ussd_phone().run("2")
    assert body.startswith("END ") and "December Sprint: " + WORDS["rank"][lang] in body


def test_join_a_challenge_is_audited_with_the_network(ussd_phone, lang, saver, live_challenge):
    challenge = live_challenge()
    phone = ussd_phone(network_code="63903")
    phone.dial()
    listing = phone.press("3")
    assert WORDS["join_list"][lang] in listing and "1. December Sprint" in listing and "0. " in listing
    assert WORDS["invalid"][lang] in phone.press("7")  # not on the list: the same list again
    body = phone.press("1")
    assert body.startswith("END ") and WORDS["joined"][lang] in body
    assert Participant.objects.filter(challenge=challenge, user=saver).count() == 1
    event = AuditEvent.objects.get(action="ussd.challenge_joined")
    assert event.actor == saver and event.after["network_code"] == "63903"
    assert event.after["session"] == phone.session_id and event.after["channel"] == "ussd"
    # nothing left to join
    assert WORDS["nothing"][lang] in ussd_phone().run("3")


def test_save_now_without_challenges_asks_the_amount_then_prompts(ussd_phone, lang, saver, monkeypatch):
    pushed = []
    monkeypatch.setattr("ussd.tasks.save_now_push_task.delay", lambda **kwargs: pushed.append(kwargs))
    phone = ussd_phone()
    phone.dial()
    assert WORDS["amount"][lang] in phone.press("4")
    for junk in ("abc", "300000", "10.50", "-5", "٥٠٠"):
        assert WORDS["amount_bad"][lang] in phone.press(junk)
    body = phone.press("500")
    assert body.startswith("END ") and WORDS["prompt"][lang] in body
    assert pushed == [{"user_id": saver.pk, "amount": 500, "challenge_id": None,
                       "request_key": f"ussd:{phone.session_id}"}]
    assert AuditEvent.objects.get(action="ussd.save_requested").after["amount"] == 500


def test_save_now_asks_which_challenge(ussd_phone, lang, saver, live_challenge, monkeypatch):
    from challenges.services import participant_join

    pushed = []
    monkeypatch.setattr("ussd.tasks.save_now_push_task.delay", lambda **kwargs: pushed.append(kwargs))
    first, second = live_challenge("December Sprint", days=20), live_challenge("Christmas Kitty", days=30)
    participant_join(challenge=first, user=saver)
    participant_join(challenge=second, user=saver)
    phone = ussd_phone()
    phone.run("4", "500")
    towards = phone.screens[-1]
    assert WORDS["towards"][lang] in towards and "1. December Sprint" in towards and "2. Christmas Kitty" in towards
    assert "3. " in towards and "0. " in towards
    assert WORDS["invalid"][lang] in phone.press("9")
    assert WORDS["prompt"][lang] in phone.press("2")
    assert pushed[0]["challenge_id"] == second.pk
    # "All my challenges" tags nothing: the deposit counts toward every challenge joined
    ussd_phone().run("4", "300", "3")
    assert pushed[1]["challenge_id"] is None and pushed[1]["amount"] == 300


def test_save_now_when_mpesa_is_not_set_up(ussd_phone, saver, mpesa):
    mpesa.shortcode = ""
    mpesa.save()
    assert "not set up yet" in ussd_phone().run("4")


def test_last_five_deposits_on_screen_or_by_sms(ussd_phone, lang, saver, deposit):
    from tests.ussd.conftest import replies

    assert WORDS["no_deposits"][lang] in ussd_phone().run("5", "1")
    for amount in (100, 200, 300, 400, 500, 600):
        deposit(saver, amount)
    phone = ussd_phone()
    assert WORDS["more"][lang] in phone.run("5")
    listing = phone.press("1")
    assert WORDS["deposits"][lang] in listing and "KES 600" in listing and "KES 200" in listing
    assert "KES 100\n" not in listing  # only the last 5
    assert WORDS["invalid"][lang] in phone.press("4")
    assert WORDS["sent"][lang] in phone.press("1")
    (message,) = replies(saver)
    assert "KES 600" in message and "KES 200" in message and "KES 100;" not in message


def test_change_language(ussd_phone, lang, saver):
    other = "sw" if lang == "en" else "en"
    phone = ussd_phone()
    phone.run("5", "2")
    assert "1. English\n2. Kiswahili" in phone.screens[-1]
    body = phone.press("2" if other == "sw" else "1")
    assert body == ("END Lugha imewekwa: Kiswahili." if other == "sw" else "END Language set to English.")
    saver.refresh_from_db()
    assert saver.language == other
    assert AuditEvent.objects.filter(action="ussd.language_changed", actor=saver).count() == 1
    assert AuditEvent.objects.filter(action="user.updated", actor=saver).count() == 1
    assert WORDS["main"][other] in ussd_phone().dial()


def test_back_returns_to_the_main_menu_from_any_screen(ussd_phone, lang, saver, live_challenge):
    live_challenge()
    for path in (["3"], ["4"], ["5"], ["5", "2"]):
        phone = ussd_phone()
        phone.run(*path)
        assert WORDS["main"][lang] in phone.press("0")


def test_invalid_main_choice_repeats_the_menu(ussd_phone, lang, saver):
    phone = ussd_phone()
    phone.dial()
    for junk in ("9", "abc", "#", "1 2", "00"):
        body = phone.press(junk)
        assert body.startswith("CON ") and WORDS["invalid"][lang] in body and WORDS["main"][lang] in body


@pytest.mark.parametrize("org_language", LANGUAGES)
def test_unknown_phones_are_told_to_ask_their_group_leader_and_nothing_else(ussd_phone, feature_org, org_language):
    from tenants.services import organization_update

    organization_update(organization=feature_org, data={"branding": {**feature_org.branding, "language": org_language}})
    connection.set_tenant(feature_org)
    phone = ussd_phone(phone="0712 345 678")
    body = phone.dial()
    assert body.startswith("END ") and WORDS["unknown"][org_language] in body
    assert phone.press("1").startswith("END ")  # whatever follows: the same answer, nothing more
    from ussd.models import UssdSession

    assert not UssdSession.objects.exists() and not AuditEvent.objects.filter(action__startswith="ussd.").exists()


def test_phone_numbers_are_normalised_as_everywhere(ussd_phone, saver):
    for spelling in ("254708374149", "0708374149", "+254 708 374 149", "708374149"):
        assert "1. My savings" in ussd_phone(phone=spelling).dial()


def test_a_replayed_step_gets_the_same_screen_and_acts_once(ussd_phone, saver, live_challenge, monkeypatch):
    pushed = []
    monkeypatch.setattr("ussd.tasks.save_now_push_task.delay", lambda **kwargs: pushed.append(kwargs))
    challenge = live_challenge()
    phone = ussd_phone()
    phone.run("3")
    joined = phone.press("1")
    data = phone.payload("3*1")
    again = phone.post(data)
    assert again.status_code == 200 and again.content.decode() == joined
    assert Participant.objects.filter(challenge=challenge).count() == 1
    assert AuditEvent.objects.filter(action="ussd.challenge_joined").count() == 1
    # and a replayed Save now pushes once
    phone = ussd_phone()
    phone.run("4", "500", "1")
    for _ in range(3):
        assert phone.post(phone.payload("4*500*1")).content.decode() == phone.screens[-1]
    assert len(pushed) == 1


def test_a_step_that_failed_can_be_retried_and_then_acts(ussd_phone, saver, live_challenge, monkeypatch):
    import ussd.services

    challenge = live_challenge()
    real = ussd.services.challenge_join

    def flaky(**kwargs):
        raise RuntimeError("database went away")

    phone = ussd_phone()
    phone.run("3")
    monkeypatch.setattr(ussd.services, "challenge_join", flaky)
    assert phone.press("1").startswith("END The service is busy")
    monkeypatch.setattr(ussd.services, "challenge_join", real)
    retry = phone.post(phone.payload("3*1")).content.decode()  # AT, or the member, sends the step again
    assert retry.startswith("END You joined December Sprint")
    assert Participant.objects.filter(challenge=challenge, user=saver).count() == 1


def test_out_of_order_or_expired_inputs_get_a_clear_end_screen(ussd_phone, saver):
    phone = ussd_phone()
    phone.dial()
    response = phone.post(phone.payload("5*1*1"))  # skips steps
    assert response.status_code == 200 and response.content.decode().startswith("END Your session has ended")
    stranger = UssdPhone()
    stranger.session_id = "ATUid_never_started"
    assert stranger.post(stranger.payload("1")).content.decode().startswith("END Your session has ended")
    # after an END, further input ends too
    phone = ussd_phone()
    phone.run("1")
    assert phone.post(phone.payload("1*1")).content.decode().startswith("END Your session has ended")
    # the same session id from another phone
    phone = ussd_phone()
    phone.dial()
    other = phone.payload("1")
    other["phoneNumber"] = "+254711000001"
    assert phone.post(other).content.decode().startswith("END Your session has ended")


def test_session_state_is_kept_in_redis_for_the_session_lifetime_per_tenant(ussd_phone, saver, feature_org):
    from savegame.redis import redis_client

    phone = ussd_phone()
    phone.dial()
    key = f"sg:{feature_org.schema_name}:ussd:session:{phone.session_id}"
    assert 170 < redis_client().ttl(key) <= 180


def test_network_code_and_steps_are_recorded(ussd_phone, saver):
    from ussd.models import UssdSession

    phone = ussd_phone(network_code="63907")
    phone.run("5", "2", "1")
    row = UssdSession.objects.get(session_id=phone.session_id)
    assert (row.user, row.phone_number, row.service_code, row.network_code, row.steps, row.outcome) == (
        saver, PHONE, SERVICE_CODE, "63907", 4, "language")


@override_settings(USSD_RATE_PER_PHONE="3/min")
def test_per_phone_rate_limit(ussd_phone, saver):
    phone = ussd_phone()
    phone.run("5", "0")
    assert phone.press("5").startswith("END Too many requests")
    assert "1. My savings" in ussd_phone(phone="+254711000001").dial()  # another phone is not held back


def test_redis_down_answers_a_clear_screen(ussd_phone, saver, monkeypatch):
    from redis.exceptions import ConnectionError

    def down(**kwargs):
        raise ConnectionError("down")

    monkeypatch.setattr("ussd.flow.state_load", down)
    assert ussd_phone().dial().startswith("END The service is busy")


def test_an_unexpected_failure_still_answers_a_screen(ussd_phone, saver, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("ussd.selectors.member_summary", boom)
    assert ussd_phone().run("1").startswith("END The service is busy")


JUNK = [
    ({"sessionId": ""}, 400), ({"sessionId": "x" * 101}, 400), ({"sessionId": "a b"}, 400),
    ({"serviceCode": ""}, 400), ({"serviceCode": "384"}, 400), ({"serviceCode": "*999*1#"}, 404),
    ({"phoneNumber": ""}, 400), ({"phoneNumber": "+15551234567"}, 400), ({"phoneNumber": "hello"}, 400),
    ({"text": "1\x00"}, 400), ({"text": "1" * 301}, 400), ({"networkCode": "abc"}, 400),
]


@pytest.mark.parametrize("change,status", JUNK)
def test_junk_is_refused_with_a_clear_answer_never_a_500(ussd_phone, saver, change, status):
    phone = ussd_phone()
    data = {**phone.payload(""), "sessionId": "ATUid_junk", **change}
    response = phone.client.post("/hooks/ussd/", data)
    assert response.status_code == status and response.content.decode().startswith("END ")


def test_missing_fields_wrong_method_and_json_bodies(ussd_phone, saver):
    client = Client(HTTP_HOST="localhost")
    assert client.post("/hooks/ussd/", {}).status_code == 400
    assert client.get("/hooks/ussd/").status_code == 405
    assert client.post("/hooks/ussd/", '{"sessionId": 1}', content_type="application/json").status_code == 400


@override_settings(AFRICASTALKING_ALLOWED_IPS=["52.48.80.1"])
def test_allow_list_of_africastalking_addresses(ussd_phone, saver):
    phone = ussd_phone()
    phone.session_id = "ATUid_ip"
    assert phone.client.post("/hooks/ussd/", phone.payload(""), REMOTE_ADDR="203.0.113.9").status_code == 403
    response = phone.client.post("/hooks/ussd/", phone.payload(""), REMOTE_ADDR="52.48.80.1")
    assert response.status_code == 200 and response.content.decode().startswith("CON ")


def test_the_callback_only_answers_on_the_platform_host(ussd_phone, saver, feature_org):
    phone = ussd_phone()
    phone.session_id = "ATUid_host"
    assert Client(HTTP_HOST=f"{feature_org.slug}.localhost").post("/hooks/ussd/", phone.payload("")).status_code == 404
