"""Celery tasks of the feature-phone channel (each runs in the schema it was sent from).

Tasks take ids, retry only on transient errors, and are safe to run twice (the push is claimed
per request key in Redis)."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from payments.daraja import DarajaTransientError
from savegame.tasknames import task


@task("ussd.save_now_push", acks_late=True,
      autoretry_for=(DarajaTransientError, OperationalError, InterfaceError), retry_backoff=2,
      retry_backoff_max=30, retry_jitter=True, max_retries=3, soft_time_limit=40, time_limit=60)
def save_now_push_task(*, user_id: int, amount: int, challenge_id: int | None, request_key: str) -> int | None:
    from ussd.services import save_now_push

    return save_now_push(user_id=user_id, amount=amount, challenge_id=challenge_id, request_key=request_key)
