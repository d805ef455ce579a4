"""Issue 16 item 20: the audit log reads as sentences, every action code any app records has one, and
the page filters by person, kind and date (junk in any filter is a 400 naming it)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone, translation

from accounts.audit import KINDS, SENTENCES, STATUS_SENTENCES, audit_sentences
from accounts.models import AuditEvent

APPS = ["accounts", "analytics", "challenges", "live", "notifications", "payments", "tenants", "ussd", "web"]
# audit_record(..., action="x.y") / action=f"x.{...}" and the game's effects.audit(actor, "x.y", ...);
# wrappers that take the code as a parameter (ussd's _audit, admin_login's _record, payments' _manual_audit)
# are called with it as a literal
LITERAL = re.compile(r"""(?:\baction=|effects\.audit\(\s*[\w.]+,\s*|_manual_audit\([^,]+,[^,]+,\s*)["']([a-z_]+\.[a-z_]+)["']""")
F_STRING = re.compile(r"""action=f["']([a-z_]+)\.\{(\w+)\}["']""")


def codes_in_the_source() -> set[str]:
    found = set()
    for app in APPS:
        for path in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            if "audit" not in text:
                continue
            found |= set(LITERAL.findall(text))
            for prefix, _variable in F_STRING.findall(text):  # transaction.{outcome}: every outcome
                if prefix == "transaction":
                    from payments.models import UnmatchedOutcome

                    found |= {f"transaction.{o}" for o in UnmatchedOutcome.Outcome.values}
    return found


def test_the_source_scan_finds_the_codes_it_should():
    codes = codes_in_the_source()
    # one from each way codes are written: audit_record, the game's effects.audit, payments' wrapper,
    # ussd's wrapper, admin_login's wrapper and the f-string of the unmatched queue
    assert {"user.role_changed", "challenge.created", "manual_deposit.credited", "sms.opted_out", "admin.login",
            "transaction.refunded", "transaction.ignored", "user.restored", "challenge.restored"} <= codes
    assert len(codes) >= 40


def test_every_action_code_has_a_sentence():
    missing = sorted(codes_in_the_source() - set(SENTENCES))
    assert missing == [], "add these to accounts/audit.py SENTENCES (and Kiswahili to the .po)"


def _event(action: str, **fields) -> AuditEvent:
    return AuditEvent(action=action, actor_label="Wanjiku", target_type=fields.pop("target_type", ""),
                      target_id=fields.pop("target_id", ""), created_at=timezone.now(), **fields)


@pytest.mark.parametrize("language", ["en", "sw"])
def test_every_sentence_renders_with_no_placeholder_or_code_left(tenant, language):
    codes = sorted(set(SENTENCES) | codes_in_the_source())
    with translation.override(language):
        for code in codes:
            for before, after in ((None, None), ({"status": "draft", "name": "Akiba"},
                                                 {"status": "active", "name": "Akiba", "role": "org_admin",
                                                  "amount": "500.00", "method": "cash", "member": 1})):
                (row,) = audit_sentences([_event(code, before=before, after=after)])
                sentence = row["sentence"]
                assert sentence.startswith("Wanjiku") or "Wanjiku" in sentence, (code, sentence)
                assert "%(" not in sentence and code not in sentence and "{" not in sentence, (code, sentence)
    assert set(STATUS_SENTENCES.values()) <= set(SENTENCES)
    assert all(any(code.startswith(p) for _label, prefixes in KINDS.values() for p in prefixes) for code in codes)


def test_a_role_change_reads_as_a_sentence_with_both_names(tenant):
    from accounts.services import member_update, user_create

    wanjiku = user_create(phone_number="+254712400001", name="Wanjiku", role="org_admin")
    otieno = user_create(phone_number="+254712400002", name="Otieno")
    member_update(member=otieno, data={"role": "org_admin"}, actor=wanjiku)
    event = AuditEvent.objects.get(action="user.role_changed")
    (row,) = audit_sentences([event])
    assert row["sentence"] == "Wanjiku changed Otieno's role to admin."
    assert row["details"] == [{"field": "role", "before": "member", "after": "org_admin"}]
    with translation.override("sw"):
        assert audit_sentences([event])[0]["sentence"] == "Wanjiku alibadilisha nafasi ya Otieno kuwa msimamizi."


@pytest.fixture
def log(tenant, org_admin):
    """A role change, a removal, a challenge and an old settings change (ten days back)."""
    from accounts.services import audit_record, member_remove, member_update, user_create
    from challenges.services import challenge_create

    otieno = user_create(phone_number="+254712400003", name="Otieno", actor=org_admin)
    akinyi = user_create(phone_number="+254712400004", name="Akinyi", actor=org_admin)
    member_update(member=otieno, data={"role": "org_admin"}, actor=org_admin)
    member_remove(member=akinyi, actor=org_admin)
    challenge_create(actor=org_admin, name="December 1000", type="fixed_amount",
                     target={"amount": "1000", "frequency": "weekly"}, duration_days=28,
                     start_date=timezone.localdate(), status="draft")
    old = audit_record(actor=org_admin, action="organization.settings_changed",
                       before={"tagline": ""}, after={"tagline": "x" * 300})
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    return {"otieno": otieno, "akinyi": akinyi}


def _sentences(html: str) -> list[str]:
    return [s.strip() for s in re.findall(r'<p class="audit-sentence">([^<]+)</p>', html)]


def test_the_page_shows_sentences_not_codes_or_dicts(leader, log):
    html = leader.get("/manage/audit/").content.decode()
    sentences = _sentences(html)
    assert "Alpha Chama Admin changed Otieno&#x27;s role to admin." in sentences
    assert "Alpha Chama Admin removed Akinyi from the group." in sentences
    assert "Alpha Chama Admin created the challenge “December 1000”." in sentences
    assert "user.role_changed" not in html and "{&#x27;" not in html  # no codes, no Python dicts


def test_filters_by_person_kind_and_date(leader, log, org_admin):
    otieno = log["otieno"]
    about_otieno = _sentences(leader.get(f"/manage/audit/?person={otieno.pk}").content.decode())
    assert about_otieno and all("Otieno" in s for s in about_otieno)
    challenges = _sentences(leader.get("/manage/audit/?kind=challenges").content.decode())
    assert challenges == ["Alpha Chama Admin created the challenge “December 1000”."]
    today = timezone.localdate()
    recent = _sentences(leader.get(f"/manage/audit/?kind=settings&date_from={today - timedelta(days=2)}").content.decode())
    assert not any("tagline" in s for s in recent)
    older = _sentences(leader.get(f"/manage/audit/?kind=settings&date_to={today - timedelta(days=5)}").content.decode())
    assert older == ["Alpha Chama Admin changed the organization&#x27;s settings (tagline)."]


@pytest.mark.parametrize("query, name", [("person=otieno", "person"), ("kind=gossip", "kind"),
                                         ("date_from=2026-13-01", "date_from"),
                                         ("date_from=2026-12-02&date_to=2026-12-01", "date_to")])
def test_junk_filters_are_a_400_naming_them(leader, log, query, name):
    response = leader.get(f"/manage/audit/?{query}")
    assert response.status_code == 400 and f"'{name}'" in response.content.decode()


def test_the_api_filters_the_same_way(api_client_for, org, org_admin, log):
    from accounts.authentication import tokens_for_user

    api = api_client_for(org)
    api.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(org_admin)["access"])
    body = api.get("/api/v1/audit?kind=challenges").json()
    assert [row["action"] for row in body["results"]] == ["challenge.created"]
    assert api.get("/api/v1/audit?kind=gossip").status_code == 400
