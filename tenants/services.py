"""Writes for organizations: provisioning, updates, suspension, domains."""

from __future__ import annotations

import logging
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from accounts.phone import normalize_phone
from savegame.services import model_update
from tenants.models import RESERVED_SLUGS, SLUG_VALIDATOR, Domain, Organization
from tenants.selectors import host_cache_key, organization_codes_forget, organization_local_forget

logger = logging.getLogger(__name__)

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
ORGANIZATION_EDITABLE_FIELDS = [
    "name", "type", "branding", "scoring", "subscription_tier", "subscription_status", "time_zone",
    "open_signup", "ussd_service_code", "sms_shortcode",
]


def schema_name_for_slug(slug: str) -> str:
    return "org_" + slug.replace("-", "_")


def _validate_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if not DOMAIN_RE.match(domain) and not domain.endswith(".localhost"):
        raise ValidationError({"domain": f"'{domain}' is not a valid host name."})
    if Domain.objects.filter(domain=domain).exists():
        raise ValidationError({"domain": f"'{domain}' is already in use."})
    return domain


def organization_cache_clear(*, organization: Organization, removed_domains: list[str] | tuple[str, ...] = ()) -> None:
    """Forget the cached host lookups of `organization` (and of domains it just lost)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        domains = [*organization.domains.values_list("domain", flat=True), *removed_domains]
        organization_local_forget(hostnames=domains)  # this process now; others within their TTL
        organization_codes_forget()
        keys = [host_cache_key(d) for d in domains]
        try:
            cache.delete_many(keys)
        except Exception:
            logger.warning("could not clear the host cache", extra={"organization": organization.slug})


# What the apps above tenants set up in a new organization's schema, inside its provisioning transaction:
# payments installs its M-Pesa settings row (payments.apps.PaymentsConfig.ready). tenants sits below
# payments in the layering and never imports it.
_PROVISIONING_STEPS: list = []


def provisioning_step_install(step) -> None:
    """`step(shortcode=...)` runs in every new organization's schema, in organization_create's transaction."""
    if step not in _PROVISIONING_STEPS:
        _PROVISIONING_STEPS.append(step)


def organization_create(
    *,
    slug: str,
    name: str,
    type: str = Organization.Type.CHAMA,
    admin_phone: str,
    admin_name: str = "",
    domains: list[str] | tuple[str, ...] = (),
    shortcode: str = "",
    ussd_code: str = "",
    sms_shortcode: str = "",
    actor_label: str = "system",
    welcome: bool = True,
) -> Organization:
    """Provision an organization: its schema (cloned from the template), domains and first org_admin
    (who gets the welcome SMS with the set-up link, unless `welcome=False`, as for the demo).

    Everything happens in one database transaction, so a failure leaves no schema, no domain and
    no organization behind. Raises ValidationError with a one-line reason for bad input.
    """
    from accounts.models import User
    from accounts.services import audit_record, member_welcome, user_create

    slug = (slug or "").strip().lower()
    try:
        SLUG_VALIDATOR(slug)
    except ValidationError:
        raise ValidationError({"slug": f"'{slug}' is not a valid slug: use 3-40 lowercase letters, digits or hyphens."}) from None
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": f"'{slug}' is reserved."})
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"An organization with slug '{slug}' already exists."})
    if type not in {c for c in Organization.Type.values if c != Organization.Type.PLATFORM}:
        raise ValidationError({"type": f"'{type}' is not one of chama, sacco, mfi, bank."})
    if not (name or "").strip():
        raise ValidationError({"name": "The organization needs a name."})
    try:
        phone = normalize_phone(admin_phone)
    except ValidationError as exc:
        raise ValidationError({"admin_phone": f"'{admin_phone}': {exc.messages[0]}"}) from None
    primary = f"{slug}.{settings.BASE_DOMAIN}"
    extra_domains = [_validate_domain(d) for d in domains if d and d.strip().lower() != primary]
    if Domain.objects.filter(domain=primary).exists():
        raise ValidationError({"slug": f"The host {primary} is already in use."})
    if shortcode and not shortcode.isdigit():
        raise ValidationError({"shortcode": "A shortcode is digits only."})
    _channel_codes_check(ussd_code=(ussd_code or "").strip(), sms_shortcode=(sms_shortcode or "").strip())

    started = time.perf_counter()
    connection.set_schema_to_public()
    with transaction.atomic():
        organization = Organization(
            schema_name=schema_name_for_slug(slug), slug=slug, name=name.strip(), type=type,
            ussd_service_code=(ussd_code or "").strip(), sms_shortcode=(sms_shortcode or "").strip(),
        )
        organization.full_clean(exclude=["schema_name"])
        organization.save(verbosity=0)  # clones the template schema
        Domain.objects.create(domain=primary, tenant=organization, is_primary=True)
        for domain in extra_domains:
            Domain.objects.create(domain=domain, tenant=organization, is_primary=False)
        with schema_context(organization.schema_name):
            admin = user_create(phone_number=phone, name=admin_name, role=User.Role.ORG_ADMIN)
            for step in _PROVISIONING_STEPS:  # payments' M-Pesa settings row
                step(shortcode=shortcode)
            if welcome:
                member_welcome(user=admin)
            audit_record(actor=None, actor_label=actor_label, action="organization.created", target=None,
                         after={"slug": slug, "name": organization.name})
        audit_record(actor=None, actor_label=actor_label, action="organization.created",
                     target=organization, after={"slug": slug, "name": organization.name, "type": type})
    logger.info("organization provisioned", extra={"slug": slug, "seconds": round(time.perf_counter() - started, 3)})
    return organization


def _channel_codes_check(*, ussd_code: str, sms_shortcode: str, organization: Organization | None = None) -> None:
    """A USSD code or SMS shortcode routes to one organization only (one-line reasons for create_org)."""
    others = Organization.objects.all()
    if organization is not None:
        others = others.exclude(pk=organization.pk)
    if ussd_code and others.filter(ussd_service_code=ussd_code).exists():
        raise ValidationError({"ussd_service_code": f"The USSD code {ussd_code} belongs to another organization."})
    if sms_shortcode and others.filter(sms_shortcode=sms_shortcode).exists():
        raise ValidationError({"sms_shortcode": f"The SMS shortcode {sms_shortcode} belongs to another organization."})


def organization_update(*, organization: Organization, data: dict, actor_label: str = "system") -> Organization:
    """Apply whitelisted changes, audit them, and drop the cached host lookup."""
    from accounts.services import audit_record

    before = {f: getattr(organization, f) for f in ORGANIZATION_EDITABLE_FIELDS if f in data}
    _channel_codes_check(ussd_code=data.get("ussd_service_code", ""), sms_shortcode=data.get("sms_shortcode", ""),
                         organization=organization)
    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        organization, changed = model_update(instance=organization, fields=ORGANIZATION_EDITABLE_FIELDS, data=data)
        if changed:
            audit_record(actor=None, actor_label=actor_label, action="organization.updated", target=organization,
                         before={f: before[f] for f in changed}, after={f: getattr(organization, f) for f in changed})
    organization_cache_clear(organization=organization)
    return organization


def organization_suspend(*, organization: Organization, actor_label: str = "system") -> Organization:
    return organization_update(organization=organization, data={"subscription_status": Organization.Status.SUSPENDED},
                               actor_label=actor_label)


def organization_reactivate(*, organization: Organization, actor_label: str = "system") -> Organization:
    return organization_update(organization=organization, data={"subscription_status": Organization.Status.ACTIVE},
                               actor_label=actor_label)


def domain_add(*, organization: Organization, domain: str, actor_label: str = "system") -> Domain:
    from accounts.services import audit_record

    with schema_context(settings.PUBLIC_SCHEMA_NAME), transaction.atomic():
        row = Domain.objects.create(domain=_validate_domain(domain), tenant=organization, is_primary=False)
        audit_record(actor=None, actor_label=actor_label, action="domain.added", target=organization,
                     after={"domain": row.domain})
    organization_cache_clear(organization=organization)
    return row


def public_tenant_ensure() -> Organization:
    """The public-schema tenant that serves the platform host (BASE_DOMAIN, localhost)."""
    with schema_context(settings.PUBLIC_SCHEMA_NAME):
        public, _ = Organization.objects.get_or_create(
            schema_name=settings.PUBLIC_SCHEMA_NAME,
            defaults={"name": "SaveGame", "slug": "platform", "type": Organization.Type.PLATFORM},
        )
        for host in {settings.BASE_DOMAIN, "localhost", "127.0.0.1"}:
            Domain.objects.get_or_create(domain=host, defaults={"tenant": public, "is_primary": host == settings.BASE_DOMAIN})
    return public


def template_schema_ensure() -> str:
    """Create the template schema that new organizations are cloned from (migrated by migrate_all)."""
    name = settings.TENANT_BASE_SCHEMA
    if not schema_exists(name):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{name}"')
    return name
