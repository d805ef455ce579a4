"""Identity tasks."""

from savegame.tasknames import task


@task("accounts.identity_prune", acks_late=True, time_limit=300, soft_time_limit=240)
def identity_prune() -> dict:
    """Nightly, in every tenant: drop expired JWT records and never-verified sign-up devices."""
    from django.db import connection

    from accounts.services import identity_prune as prune

    return {"schema": connection.schema_name, **prune()}
