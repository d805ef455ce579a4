"""Identity tasks."""

from celery import shared_task


@shared_task(name="accounts.member_count", acks_late=True, time_limit=30)
def member_count() -> dict:
    """How many users the current schema holds: a cheap probe that a worker runs in the right tenant."""
    from django.db import connection

    from accounts.models import User

    return {"schema": connection.schema_name, "users": User.objects.count(),
            "phones": sorted(User.objects.values_list("phone_number", flat=True))}


@shared_task(name="accounts.identity_prune", acks_late=True, time_limit=300, soft_time_limit=240)
def identity_prune() -> dict:
    """Nightly, in every tenant: drop expired JWT records and never-verified sign-up devices."""
    from django.db import connection

    from accounts.services import identity_prune as prune

    return {"schema": connection.schema_name, **prune()}
