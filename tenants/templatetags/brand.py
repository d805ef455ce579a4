"""`{% current_brand as brand %}`: the brand of the schema in use, for templates rendered without a
request (Django's 500 page)."""

from django import template
from django.db import connection

from tenants.branding import brand_context

register = template.Library()


@register.simple_tag
def current_brand() -> dict:
    try:
        tenant = getattr(connection, "tenant", None)
        if tenant is None or getattr(tenant, "is_public", True):
            return brand_context(None)
        return brand_context(tenant)
    except Exception:  # the error page must render whatever went wrong
        return brand_context(None)
