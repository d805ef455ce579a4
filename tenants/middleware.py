"""Pick the organization (and its schema) from the Host header, with a cached lookup."""

from __future__ import annotations

import copy
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpResponseNotFound
from django.urls import URLResolver, get_resolver, set_urlconf
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern
from django_tenants.middleware.main import TenantMainMiddleware

from savegame.clientip import client_ip
from tenants.models import Domain
from tenants.selectors import organization_for_host, organization_for_host_local

# Paths that keep working for a suspended organization: money in flight must never be lost.
ALWAYS_OPEN_PREFIXES = ("/healthz", "/hooks/", "/static/")
HOOKS_PREFIX = "/hooks/"
MPESA_HOOKS_PREFIX = "/hooks/pay/"


class OrganizationMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        # The per-process copy (TENANT_HOST_LOCAL_CACHE_SECONDS) in front of the Redis one: a Redis
        # round trip and an unpickle were ~40% of a bare view's time behind the middleware (issue 13,
        # docs/BENCHMARKS.md). Each request gets its own shallow copy: views may set attributes on it.
        return copy.copy(organization_for_host_local(hostname=hostname))

    def process_request(self, request):
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name != settings.PUBLIC_SCHEMA_NAME and tenant.is_suspended:
            if not request.path.startswith(ALWAYS_OPEN_PREFIXES):
                from tenants.views import suspended

                return suspended(request)
        return None

    def no_tenant_found(self, request, hostname):
        if request.path == "/healthz":
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
            return None
        return super().no_tenant_found(request, hostname)


class HooksMiddleware:
    """The lean path for machine callbacks (/hooks/... on an organization's host: Daraja, Africa's
    Talking). Sits before OrganizationMiddleware and answers these requests itself, skipping the
    site's stack -- sessions, locale, CSRF, auth, messages, security headers -- which a callback
    never uses but paid for on every call (docs/BENCHMARKS.md).

    What stays: the request log (outside this), routing by host (organization_for_host_local: a
    per-process copy for TENANT_HOST_LOCAL_CACHE_SECONDS in front of the Redis host cache), the
    hooks' own limits on refused callbacks (RateLimitMiddleware), the organization's /hooks/ routes, and
    the views' own checks (path token, MPESA_ALLOWED_IPS through TRUSTED_PROXY_COUNT). Hooks stay
    open for a suspended organization, as on the full stack. The platform host's /hooks/ (USSD and
    incoming SMS, routed to an organization by the code it owns) take the same lean path; unknown
    hosts fall through to the full stack, which answers them as before.

    Daraja calling from an address in MPESA_ALLOWED_IPS skips the limiter altogether (not even its
    Redis check): with the allow-list set nobody else reaches the storing path, so the limiter would
    protect nothing there.
    """

    def __init__(self, get_response):
        from savegame.ratelimit import RateLimitMiddleware

        self.get_response = get_response
        self.limited_dispatch = RateLimitMiddleware(self._dispatch)

    def __call__(self, request):
        if not request.path_info.startswith(HOOKS_PREFIX):
            return self.get_response(request)
        try:
            hostname = TenantMainMiddleware.hostname_from_request(request)  # validates ALLOWED_HOSTS
        except DisallowedHost:
            return HttpResponseNotFound()
        try:
            tenant = organization_for_host_local(hostname=hostname)
        except Domain.DoesNotExist:
            return self.get_response(request)
        if tenant.is_public:
            return self._platform_hook(request, tenant)
        request.tenant = tenant
        if connection.schema_name == tenant.schema_name and connection.include_public_schema:
            connection.tenant = tenant  # same schema as this connection's last request: no new SET search_path
        else:
            connection.set_tenant(tenant)
        request.urlconf = settings.ROOT_URLCONF
        set_urlconf(request.urlconf)
        if _from_safaricom(request):
            return self._dispatch(request)
        return self.limited_dispatch(request)

    def _platform_hook(self, request, tenant):
        """/hooks/ on the platform host: Africa's Talking's USSD and incoming-SMS callbacks, which
        name their organization by the code it owns rather than by host (the ussd app). Same lean
        path and limits as an organization's hooks; anything else there is a bare 404."""
        request.tenant = tenant  # the connection's schema is left as it is: the view picks the organization's
        request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
        set_urlconf(request.urlconf)
        return self.limited_dispatch(request)

    @staticmethod
    def _dispatch(request):
        try:
            match = hooks_resolver(request.urlconf).resolve(request.path_info)
        except Resolver404:
            return HttpResponseNotFound()  # a bare 404: no site page for a machine caller
        request.resolver_match = match
        return match.func(request, *match.args, **match.kwargs)


def _from_safaricom(request) -> bool:
    allowed = settings.MPESA_ALLOWED_IPS
    return bool(allowed) and request.path_info.startswith(MPESA_HOOKS_PREFIX) and client_ip(request) in allowed


@lru_cache(maxsize=8)
def hooks_resolver(urlconf: str) -> URLResolver:
    """The URLconf's hooks/ routes alone (each app keeps declaring its own): a callback is matched
    against a handful of patterns instead of every page of the site first."""

    def hooks(patterns):
        for pattern in patterns:
            route = str(pattern.pattern)
            if route.startswith("hooks/"):
                yield pattern
            elif route == "" and isinstance(pattern, URLResolver):
                yield from hooks(pattern.url_patterns)

    return URLResolver(RegexPattern(r"^/"), list(hooks(get_resolver(urlconf).url_patterns)))
