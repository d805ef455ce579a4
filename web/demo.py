"""Demo data for `make run`: two organizations, members, and whatever each app's demo adds.

Each app may offer `<app>.demo.seed(organization, members)`; it is called inside the
organization's schema and must be idempotent.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager

from django_tenants.utils import schema_context

from tenants.models import Organization
from tenants.selectors import organization_base_url
from tenants.services import organization_create, organization_update

DEMO_APPS = ["challenges", "payments", "notifications", "analytics"]

DEMO_ORGS = [
    {
        "slug": "umoja", "name": "Umoja Chama", "type": "chama", "shortcode": "600100",
        "ussd_code": "*384*100#", "sms_shortcode": "22100",
        "admin_phone": "+254700000001", "admin_name": "Wanjiku Kamau",
        "branding": {"primary_color": "#0f766e", "accent_color": "#f59e0b", "language": "en",
                     "sms_sender_id": "UMOJA", "tagline": "Pamoja tunaweza"},
        "members": [
            ("Akinyi Otieno", "+254700000011"), ("Baraka Mwangi", "+254700000012"),
            ("Chebet Kiprop", "+254700000013"), ("Daudi Njoroge", "+254700000014"),
            ("Esther Wambui", "+254700000015"), ("Faith Achieng", "+254700000016"),
        ],
    },
    {
        "slug": "bidii", "name": "Bidii SACCO", "type": "sacco", "shortcode": "600200",
        "ussd_code": "*384*200#", "sms_shortcode": "22200",
        "admin_phone": "+254700000002", "admin_name": "Hassan Omar",
        "branding": {"primary_color": "#1e3a8a", "accent_color": "#facc15", "language": "sw",
                     "sms_sender_id": "BIDII", "tagline": "Akiba ni msingi"},
        "members": [
            ("Imani Mutua", "+254700000021"), ("Juma Hamisi", "+254700000022"),
            ("Kerubo Moraa", "+254700000023"), ("Lilian Nyambura", "+254700000024"),
        ],
    },
]


@contextmanager
def _history_not_sent():
    """The demo's deposits are history: their confirmations and badge messages are kept on record but
    never sent, so the first `make run` does not text every demo member about last fortnight."""
    from notifications.models import Notification

    seen = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    yield
    Notification.objects.filter(pk__gt=seen, status=Notification.Status.PENDING).update(
        status=Notification.Status.SKIPPED, reason="demo history (not sent)")


def seed_demo() -> list[str]:
    from accounts.models import User
    from accounts.services import user_create

    lines = []
    for spec in DEMO_ORGS:
        org = Organization.objects.filter(slug=spec["slug"]).first()
        if org is None:
            org = organization_create(
                slug=spec["slug"], name=spec["name"], type=spec["type"], admin_phone=spec["admin_phone"],
                admin_name=spec["admin_name"], shortcode=spec["shortcode"], ussd_code=spec["ussd_code"],
                sms_shortcode=spec["sms_shortcode"], actor_label="seed_demo", welcome=False,
            )
            organization_update(organization=org, data={"branding": spec["branding"]}, actor_label="seed_demo")
        if not org.ussd_service_code and not org.sms_shortcode:  # seeded before feature phones came
            org = organization_update(organization=org, data={"ussd_service_code": spec["ussd_code"],
                                                              "sms_shortcode": spec["sms_shortcode"]},
                                      actor_label="seed_demo")
        with schema_context(org.schema_name):
            members = []
            for name, phone in spec["members"]:
                user = User.objects.filter(phone_number=phone).first() or user_create(phone_number=phone, name=name)
                members.append(user)
            with _history_not_sent():
                for app in DEMO_APPS:
                    try:
                        module = importlib.import_module(f"{app}.demo")
                    except ModuleNotFoundError:
                        continue
                    module.seed(org, members)
        lines.append(f"{org.name}: {organization_base_url(org)}/  (leaders: {organization_base_url(org)}/manage/)")
        lines.append(f"  feature phones: USSD {org.ussd_service_code}, SMS to {org.sms_shortcode}: "
                     f"manage.py ussd_session --org {org.slug} --phone {spec['members'][0][1]}")
    return lines
