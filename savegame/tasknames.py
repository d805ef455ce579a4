"""Celery task names follow one scheme: `<app label>.<noun>_<verb>`, the noun what the task works on
and the verb what it does to it, as services are named (`payments.inbox_drain`,
`challenges.leaderboards_snapshot`, `payments_watch.deposits_check`). docs/OPERATIONS.md lists them.

A task that is renamed keeps its former name for one release (`task(..., formerly=[...])`), so
messages already queued under it, and a beat still sending it during a deploy, run the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from celery import shared_task


def task(name: str, *, formerly: Iterable[str] = (), **options) -> Callable:
    """`shared_task(name=name, **options)`, the function also registered under each former name.
    Former names are deleted a release after the rename."""

    def register(function):
        for old in formerly:
            shared_task(name=old, **options)(function)
        return shared_task(name=name, **options)(function)

    return register
