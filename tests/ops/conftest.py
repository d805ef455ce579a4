"""Ops tests reuse the payments fixtures (Daraja payloads posted to an organization's hooks)."""

from tests.payments.conftest import eager_celery, hook, live_org, member, mpesa  # noqa: F401
