import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from accounts.models import User
from tenants.models import Domain, Organization
from tenants.services import organization_create


def _create(**overrides):
    args = {"slug": "kilimo", "name": "Kilimo Chama", "type": "chama", "admin_phone": "0712 345 678"}
    args.update(overrides)
    return organization_create(**args)


def test_create_org_command_provisions_schema_domain_and_admin(db):
    out = StringIO()
    call_command("create_org", "--slug", "kilimo", "--name", "Kilimo Chama", "--type", "sacco",
                 "--admin-phone", "0712345678", "--admin-name", "Mama Kilimo", "--domain", "save.kilimo.co.ke",
                 "--shortcode", "600321", stdout=out)
    org = Organization.objects.get(slug="kilimo")
    assert org.type == "sacco"
    assert schema_exists(org.schema_name)
    assert set(org.domains.values_list("domain", flat=True)) == {"kilimo.localhost", "save.kilimo.co.ke"}
    with schema_context(org.schema_name):
        admin = User.objects.get()
        assert (admin.phone_number, admin.role, admin.name) == ("+254712345678", "org_admin", "Mama Kilimo")
    assert "http://kilimo.localhost" in out.getvalue()


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--slug", "alpha"], "already exists"),
        (["--admin-phone", "0612"], "9 digits"),
        (["--admin-phone", "+14155550100"], "Kenyan"),
        (["--slug", "Bad Slug!"], "not a valid slug"),
    ],
)
def test_create_org_refuses_with_one_line_and_leaves_nothing(db, org, args, reason):
    base = {"--slug": "fresh", "--name": "Fresh", "--type": "chama", "--admin-phone": "0712345678"}
    base.update(dict(zip(args[::2], args[1::2])))
    before = (Organization.objects.count(), Domain.objects.count())
    with pytest.raises(CommandError) as excinfo:
        call_command("create_org", *[x for kv in base.items() for x in kv])
    message = str(excinfo.value)
    assert reason in message and "\n" not in message
    assert (Organization.objects.count(), Domain.objects.count()) == before
    assert not schema_exists("org_fresh")


def test_failure_midway_rolls_back_schema_domain_and_row(db, monkeypatch):
    import tenants.services

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tenants.services, "_PROVISIONING_STEPS", [explode])  # payments' settings row fails
    with pytest.raises(RuntimeError):
        _create(slug="halfmade")
    connection.set_schema_to_public()
    assert not Organization.objects.filter(slug="halfmade").exists()
    assert not Domain.objects.filter(domain="halfmade.localhost").exists()
    assert not schema_exists("org_halfmade")


def test_mpesa_urls_prints_the_five_callback_urls_and_their_shortcode(db, org):
    from django_tenants.utils import schema_context

    from payments.models import MpesaSettings

    out = StringIO()
    call_command("mpesa_urls", "--org", org.slug, stdout=out)
    urls = json.loads(out.getvalue())
    with schema_context(org.schema_name):
        assert urls.pop("shortcode") == MpesaSettings.objects.get().shortcode  # Daraja's RegisterURL takes both
    assert set(urls) == {"validation", "confirmation", "stk_callback", "result", "timeout"}
    assert all(u.startswith("http://alpha.localhost") and "/hooks/pay/" in u for u in urls.values())
    assert len({u.split("/hooks/pay/")[1].split("/")[0] for u in urls.values()}) == 1


def test_mpesa_urls_unknown_org_exits_non_zero(db):
    with pytest.raises(CommandError, match="No organization"):
        call_command("mpesa_urls", "--org", "nope")


def test_seed_demo_is_idempotent(db):
    call_command("seed_demo", stdout=StringIO())
    counts = {}
    for slug in ("umoja", "bidii"):
        org = Organization.objects.get(slug=slug)
        with schema_context(org.schema_name):
            counts[slug] = User.objects.count()
    call_command("seed_demo", stdout=StringIO())
    for slug in ("umoja", "bidii"):
        org = Organization.objects.get(slug=slug)
        with schema_context(org.schema_name):
            assert User.objects.count() == counts[slug] > 3
    assert Organization.objects.filter(slug__in=["umoja", "bidii"]).count() == 2


def test_seed_demo_keeps_its_history_messages_on_record_but_never_sends_them(db):
    """The demo's past deposits (challenges' and payments' demo data) confirm and award badges like real
    ones, but the first `make run` must not text every demo member about last fortnight."""
    from notifications.models import Notification

    call_command("seed_demo", stdout=StringIO())
    for slug in ("umoja", "bidii"):
        with schema_context(Organization.objects.get(slug=slug).schema_name):
            history = Notification.objects.filter(template__in=["deposit_confirmed", "badge_earned"])
            assert history.count() > 0
            assert not Notification.objects.filter(status=Notification.Status.PENDING).exists()
            assert "demo history (not sent)" in set(history.values_list("reason", flat=True))
