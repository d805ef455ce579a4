"""Helpers shared by every app's services."""

from __future__ import annotations

from typing import Any, Iterable

from django.db import models


def model_update(*, instance: models.Model, fields: Iterable[str], data: dict[str, Any]) -> tuple[models.Model, list[str]]:
    """Apply only whitelisted `fields` from `data`, validate, and save the changed ones.

    Returns the instance and the names of the fields that changed.
    """
    changed = []
    for field in fields:
        if field in data and getattr(instance, field) != data[field]:
            setattr(instance, field, data[field])
            changed.append(field)
    if changed:
        instance.full_clean()
        update_fields = list(changed)
        if any(f.name == "updated_at" for f in instance._meta.get_fields()):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return instance, changed
