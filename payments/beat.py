"""Periodic payments tasks; each entry runs in every organization's schema."""

from celery.schedules import crontab
from django.conf import settings

SCHEDULE = {
    # The broker may lose a task (Redis down at callback time): nothing is lost, only delayed.
    "payments-inbox-sweep": {"task": "payments.inbox_sweep", "schedule": settings.PAYMENTS_SWEEP_SECONDS},
    # STK pushes pending past MPESA_STK_RECONCILE_MINUTES are asked about with stkpushquery.
    "payments-stk-reconcile": {"task": "payments.stk_reconcile", "schedule": 120.0},
    # C2B validations with no confirmation are asked about with Transaction Status.
    "payments-c2b-gaps": {"task": "payments.c2b_gaps_check", "schedule": 600.0},
    # Yesterday's totals, unmatched payments and anomalies (Africa/Nairobi, CELERY_TIMEZONE).
    # Every suspicious-pattern rule over the last day (payments/watch; each deposit is also checked when credited).
    "payments-watch-nightly": {"task": "payments_watch.nightly_check", "schedule": crontab(hour=1, minute=10)},
    "payments-daily-report": {"task": "payments.reconciliation_report_build", "schedule": crontab(hour=0, minute=30)},
}
