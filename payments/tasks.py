"""Celery tasks for payments. Each runs in the tenant schema it was sent from (tenant-schemas-celery).

Tasks take ids, never model instances; retry only on transient errors; are safe to run twice
(acks_late + Redis visibility timeout can redeliver a long task).
"""

from __future__ import annotations

from django.db import IntegrityError, InterfaceError, OperationalError

from payments.daraja import DarajaTransientError
from payments.services import RetryLater
from savegame.tasknames import task


# Routed to the "payments" queue by CELERY_TASK_ROUTES (settings, "# --- payments ---").
TRANSIENT = (RetryLater, OperationalError, InterfaceError, IntegrityError, DarajaTransientError)


@task("payments.callback_process", acks_late=True, autoretry_for=TRANSIENT, retry_backoff=2,
      retry_backoff_max=300, retry_jitter=True, max_retries=12, soft_time_limit=30, time_limit=60)
def callback_process_task(inbox_id: int) -> None:
    from payments.inbox import callback_process

    callback_process(inbox_id=inbox_id)


# One drain per tenant at a time in the common case (the kick key); more copies are harmless (SKIP LOCKED).
# Retries only when the database connection failed; rows that fail on their own go to callback_process.
@task("payments.inbox_drain", acks_late=True, autoretry_for=(OperationalError, InterfaceError),
      retry_backoff=2, retry_backoff_max=60, retry_jitter=True, max_retries=12, soft_time_limit=240,
      time_limit=300)
def inbox_drain_task(slot: int = 0) -> int:
    from payments.inbox import inbox_drain

    return inbox_drain(slot=slot)


@task("payments.inbox_sweep", acks_late=True, soft_time_limit=120, time_limit=180)
def inbox_sweep_task() -> int:
    from payments.inbox import inbox_sweep

    return inbox_sweep()


@task("payments.stk_reconcile", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
      max_retries=3, soft_time_limit=240, time_limit=300)
def stk_reconcile_task() -> int:
    from payments.services import stk_pending_reconcile

    return stk_pending_reconcile()


@task("payments.c2b_gaps_check", acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True,
      max_retries=3, soft_time_limit=240, time_limit=300)
def c2b_gaps_check_task() -> int:
    from payments.services import c2b_gaps_check

    return c2b_gaps_check()


@task("payments.reconciliation_report_build", formerly=["payments.reconciliation_report"], acks_late=True,
      soft_time_limit=240, time_limit=300)
def reconciliation_report_task() -> int:
    from payments.services import reconciliation_report_build

    return reconciliation_report_build().pk
