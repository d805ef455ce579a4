"""Pick the organization (and its schema) from the Host header, with a cached lookup."""

from __future__ import annotations

from django.conf import settings
from django.urls import set_urlconf
from django_tenants.middleware.main import TenantMainMiddleware

from tenants.selectors import organization_for_host

# Paths that keep working for a suspended organization: money in flight must never be lost.
ALWAYS_OPEN_PREFIXES = ("/healthz", "/hooks/", "/static/")


class OrganizationMiddleware(TenantMainMiddleware):
    def get_tenant(self, domain_model, hostname):
        return organization_for_host(hostname=hostname)

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
