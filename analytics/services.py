"""Writes for analytics."""

from __future__ import annotations


def event_record(*, type: str, user=None, properties: dict | None = None) -> None:
    """Record a product event. Never raises and never blocks the action that caused it.
    The analytics capability fills this in; callers may rely on the signature."""
