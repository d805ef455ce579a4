"""Organizations (one PostgreSQL schema each), their domains, and the platform badge catalogue.

Everything here lives in the public schema.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin

from tenants.validators import SMS_SHORTCODE_VALIDATOR, USSD_CODE_VALIDATOR

SLUG_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
    _("Use 3-40 lowercase letters, digits or hyphens, starting with a letter."),
)
RESERVED_SLUGS = {"www", "admin", "api", "public", "static", "media", "tenant-template", "mail"}


def default_branding() -> dict:
    return {
        "primary_color": "#0f766e",
        "accent_color": "#f59e0b",
        "sms_sender_id": "",
        "language": "en",
        "tagline": "",
    }


def default_scoring() -> dict:
    """Defaults from the spec; org admins may edit them (docs/GAMIFICATION.md)."""
    return {
        "points_per_kes": 1,
        "streak_multiplier": 1.5,
        "streak_threshold_days": 7,
        "streak_threshold_weeks": 1,
        "early_bird_bonus": 50,
        "early_bird_days": 3,
        "consistency_bonus": 100,
        "referral_bonus": 500,
        "goals_count": True,  # personal goals earn points and badges (issue 18)
        "freeze_every": 4,  # qualifying windows in a row that earn a streak freeze; 0 = off (issue 18)
    }


class Organization(TenantMixin):
    class Type(models.TextChoices):
        CHAMA = "chama", _("Chama")
        SACCO = "sacco", _("SACCO")
        MFI = "mfi", _("Microfinance institution")
        BANK = "bank", _("Bank")
        PLATFORM = "platform", _("Platform (public schema)")

    class Tier(models.TextChoices):
        FREE = "free", _("Free")
        STARTER = "starter", _("Starter")
        GROWTH = "growth", _("Growth")
        ENTERPRISE = "enterprise", _("Enterprise")

    class Status(models.TextChoices):
        TRIAL = "trial", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=40, unique=True, validators=[SLUG_VALIDATOR])
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.CHAMA)
    branding = models.JSONField(default=default_branding, blank=True)
    logo = models.ImageField(upload_to="logos/", blank=True)
    scoring = models.JSONField(default=default_scoring, blank=True)
    subscription_tier = models.CharField(max_length=12, choices=Tier.choices, default=Tier.FREE)
    subscription_status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.ACTIVE
    )
    time_zone = models.CharField(max_length=64, default="Africa/Nairobi")
    open_signup = models.BooleanField(
        default=False, help_text=_("Verifying an unknown phone number creates a member.")
    )
    # Which DATABASES alias holds this organization's schema (tenants.routing). One database today;
    # a second is added by routing new (or moved) organizations to it (docs/SCALING.md).
    database = models.CharField(max_length=64, default="default", editable=False)
    ussd_service_code = models.CharField(
        max_length=40, blank=True, default="", validators=[USSD_CODE_VALIDATOR],
        help_text=_("The USSD code members dial (Africa's Talking service code), e.g. *384*123#."),
    )
    sms_shortcode = models.CharField(
        max_length=16, blank=True, default="", validators=[SMS_SHORTCODE_VALIDATOR],
        help_text=_("The shortcode or number members text commands to (BAL, RANK, SAVE 500, STOP)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=["chama", "sacco", "mfi", "bank", "platform"]),
                name="organization_type_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(subscription_status__in=["trial", "active", "past_due", "suspended"]),
                name="organization_status_valid",
            ),
            models.UniqueConstraint(fields=["ussd_service_code"], condition=~models.Q(ussd_service_code=""),
                                    name="organization_ussd_code_unique"),
            models.UniqueConstraint(fields=["sms_shortcode"], condition=~models.Q(sms_shortcode=""),
                                    name="organization_sms_shortcode_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """Replay the template's blueprint (tenants.provisioning) instead of django-tenants' clone,
        whose cost grows with the number of schemas; clone only when no blueprint can be had."""
        from django_tenants.utils import get_creation_fakes_migrations, schema_exists

        from tenants.provisioning import schema_provision

        if check_if_exists and schema_exists(self.schema_name):
            return False
        if sync_schema and get_creation_fakes_migrations() and self.get_base_schema() \
                and schema_provision(schema_name=self.schema_name):
            return True
        return super().create_schema(check_if_exists=check_if_exists, sync_schema=sync_schema, verbosity=verbosity)

    @property
    def is_public(self) -> bool:
        return self.schema_name == settings.PUBLIC_SCHEMA_NAME

    @property
    def is_suspended(self) -> bool:
        return self.subscription_status == self.Status.SUSPENDED

    @property
    def language(self) -> str:
        return (self.branding or {}).get("language") or "en"

    def brand(self, key: str) -> str:
        return (self.branding or {}).get(key) or default_branding().get(key, "")

    def scoring_rule(self, key: str):
        rules = default_scoring()
        rules.update(self.scoring or {})
        return rules[key]


class Domain(DomainMixin):
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.domain


class SchemaBlueprint(models.Model):
    """The template schema's DDL and rows for one migration state (tenants.provisioning)."""

    state_key = models.CharField(max_length=64, unique=True)
    template_schema = models.CharField(max_length=63)
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.template_schema}@{self.state_key}"


class SystemBadge(models.Model):
    """The platform-wide badge catalogue; organizations may add their own in their schema."""

    class Rarity(models.TextChoices):
        COMMON = "common", _("Common")
        RARE = "rare", _("Rare")
        EPIC = "epic", _("Epic")
        LEGENDARY = "legendary", _("Legendary")

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=80)
    name_sw = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=240)
    description_sw = models.CharField(max_length=240, blank=True)
    icon = models.CharField(max_length=16, default="🏅")
    criteria = models.JSONField()
    rarity = models.CharField(max_length=10, choices=Rarity.choices, default=Rarity.COMMON)
    per_challenge = models.BooleanField(
        default=False, help_text=_("Awarded once per challenge instead of once per member.")
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rarity", "name"]

    def __str__(self) -> str:
        return self.name
