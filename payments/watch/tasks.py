"""Suspicious-pattern tasks (default queue: a check never delays a credit)."""

from __future__ import annotations

from savegame.tasknames import task


@task("payments_watch.deposits_check", formerly=["watch.deposits_check"], acks_late=True, time_limit=300,
      ignore_result=True)
def deposits_check_task(transaction_ids: list[int]) -> int:
    from payments.watch.services import deposits_check

    return len(deposits_check(transaction_ids=transaction_ids))


@task("payments_watch.nightly_check", formerly=["watch.nightly"], acks_late=True, time_limit=1800, ignore_result=True)
def nightly_task() -> int:
    from payments.watch.services import nightly_check

    return nightly_check()
