"""Reads for organizations."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from tenants.models import Domain, Organization

_HOST_CACHE_PREFIX = "tenant-host:"


def host_cache_key(hostname: str) -> str:
    return _HOST_CACHE_PREFIX + hostname.lower()


def organization_for_host(*, hostname: str) -> Organization:
    """The organization that owns `hostname`, cached in Redis (the stock lookup queries every request).

    Raises Domain.DoesNotExist for an unknown host. Writes that change an organization or its
    domains clear the cache through tenants.services.
    """
    # The cache key function prefixes keys with the current schema; resolve from public.
    connection.set_schema_to_public()
    key = host_cache_key(hostname)
    try:
        organization = cache.get(key)
    except Exception:  # Redis down: fall back to the database, never fail the request for it
        organization = None
    if organization is None:
        domain = Domain.objects.select_related("tenant").get(domain=hostname.lower())
        organization = domain.tenant
        try:
            cache.set(key, organization, settings.TENANT_HOST_CACHE_SECONDS)
        except Exception:
            pass
    return organization


# hostname -> (expires at, monotonic clock; organization). Read and written by request threads;
# single dict operations are atomic, and a lost race only costs one more lookup.
_local_hosts: dict[str, tuple[float, Organization]] = {}


def organization_for_host_local(*, hostname: str) -> Organization:
    """organization_for_host, remembered in this process for TENANT_HOST_LOCAL_CACHE_SECONDS.

    For the callback path (tenants.middleware.HooksMiddleware), where the Redis round trip and
    unpickling were a tenth of a callback's cost. The instance is shared by concurrent requests:
    callers must not modify it. A change made through tenants.services (suspension, domains,
    deletion) clears this process's copy at once and every other process's within the TTL.
    """
    hostname = hostname.lower()
    hit = _local_hosts.get(hostname)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    organization = organization_for_host(hostname=hostname)
    _local_hosts[hostname] = (now + settings.TENANT_HOST_LOCAL_CACHE_SECONDS, organization)
    return organization


def organization_local_forget(*, hostnames=None) -> None:
    """Drop this process's copies for `hostnames` (all of them when None)."""
    if hostnames is None:
        _local_hosts.clear()
        _local_codes.clear()
        return
    for hostname in hostnames:
        _local_hosts.pop(hostname.lower(), None)


# ("ussd" | "sms", code) -> (expires at, organization or None): the feature-phone callbacks arrive
# on the platform host and name their organization by the code it owns (tenants.Organization).
_local_codes: dict[tuple[str, str], tuple[float, Organization | None]] = {}
_CODE_FIELDS = {"ussd": "ussd_service_code", "sms": "sms_shortcode"}


def organization_for_channel_code(*, channel: str, code: str) -> Organization | None:
    """The organization owning a USSD service code (`channel="ussd"`) or an SMS shortcode (`"sms"`),
    None when nobody does. Kept per process like organization_for_host_local (a changed code reaches
    every process within TENANT_HOST_LOCAL_CACHE_SECONDS; this process at once)."""
    code = (code or "").strip()
    if not code or channel not in _CODE_FIELDS:
        return None
    key = (channel, code)
    hit = _local_codes.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    connection.set_schema_to_public()
    organization = (Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
                    .filter(**{_CODE_FIELDS[channel]: code}).first())
    if len(_local_codes) > 10_000:  # junk codes must not grow this without bound
        _local_codes.clear()
    _local_codes[key] = (now + settings.TENANT_HOST_LOCAL_CACHE_SECONDS, organization)
    return organization


def organization_codes_forget() -> None:
    """Drop this process's code -> organization copies (any organization change may move a code)."""
    _local_codes.clear()


def organization_primary_domain(organization: Organization) -> str:
    domain = organization.domains.filter(is_primary=True).first() or organization.domains.first()
    return domain.domain if domain else f"{organization.slug}.{settings.BASE_DOMAIN}"


def organization_base_url(organization: Organization) -> str:
    """`scheme://host[:port]` of the organization's primary domain."""
    port = f":{settings.SITE_PORT}" if settings.SITE_PORT and settings.SITE_PORT not in ("80", "443") else ""
    return f"{settings.SITE_SCHEME}://{organization_primary_domain(organization)}{port}"


def organization_list(*, include_public: bool = False):
    qs = Organization.objects.all()
    if not include_public:
        qs = qs.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    return qs.order_by("name")
