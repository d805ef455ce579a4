"""Identity tasks."""

from celery import shared_task


@shared_task(name="accounts.member_count", acks_late=True, time_limit=30)
def member_count() -> dict:
    """How many users the current schema holds: a cheap probe that a worker runs in the right tenant."""
    from django.db import connection

    from accounts.models import User

    return {"schema": connection.schema_name, "users": User.objects.count(),
            "phones": sorted(User.objects.values_list("phone_number", flat=True))}
