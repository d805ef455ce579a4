"""What notifications reads from the apps above it, handed in by them when Django starts.

notifications is a leaf of the layering (pyproject.toml's import-linter contract): it never imports a
domain app. The few figures it needs from them -- a challenge's participants for a broadcast, the open
challenges a broadcast can address, a member's saved total for the weekly summary -- are installed here
by their owners' AppConfig.ready (challenges.apps, payments.apps), the pattern of the game's ledger port.
"""

from __future__ import annotations

from collections.abc import Callable

_sources: dict[str, Callable] = {}


def source_install(name: str, source: Callable) -> None:
    _sources[name] = source


def source(name: str) -> Callable:
    if name not in _sources:  # pragma: no cover - the owning app is in INSTALLED_APPS wherever this runs
        raise RuntimeError(f"no {name!r} source installed: its owning app must be in INSTALLED_APPS")
    return _sources[name]
