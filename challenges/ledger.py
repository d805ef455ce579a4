"""What the game may know about money, and where it gets it: payments hands it over.

The game never imports payments (the import-linter contract in pyproject.toml: payments calls the
game, never the reverse). payments owns the ledger and installs its reader here when Django
starts (`payments.apps.PaymentsConfig.ready` -> `reader_install(payments.ledger)`); every read the
game makes of deposits goes through the functions below, so the rules for which rows count and
which time a deposit counts at stay payments' (payments/selectors.py, "money facts").
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class LedgerReader(Protocol):
    REVERSED: str

    def deposits_locked(self, *, transaction_ids: list[int]) -> list[Any]: ...
    def deposit_locked_if_reversed(self, *, transaction_id: int) -> Any | None: ...
    def deposits_total_between(self, *, user_id: int, start: datetime, end: datetime) -> Decimal: ...
    def first_deposit_id(self, *, user_id: int) -> int | None: ...
    def deposit_ids_verified_before(self, *, cutoff: datetime, exclude, limit: int) -> list[int]: ...
    def reversed_ids_before(self, *, cutoff: datetime, exclude, limit: int) -> list[int]: ...
    def deposit_figures(self, *, user_ids: list[int] | None, zone: ZoneInfo, among=None) -> list[dict]: ...
    def payments_since(self, *, challenge_id: int, user_ids: list[int], since: datetime) -> bool: ...


_reader: LedgerReader | None = None


def reader_install(reader: LedgerReader) -> None:
    global _reader
    _reader = reader


def reader() -> LedgerReader:
    if _reader is None:  # pragma: no cover - payments is in INSTALLED_APPS wherever the game runs
        raise RuntimeError("no ledger reader installed: payments must be in INSTALLED_APPS")
    return _reader
