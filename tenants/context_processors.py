"""Branding for every template: the organization's name, colours and language."""

from __future__ import annotations

from tenants.branding import brand_context


def organization(request):
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        return {"organization": None, "brand": brand_context(None)}
    return {"organization": tenant, "brand": brand_context(tenant)}
