"""Writes for identity: users and the audit log."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import AuditEvent, User, new_account_code
from accounts.phone import normalize_phone


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    ip_address: str | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one audit row in the current schema.

    `actor` must be a user of the current schema (user ids are per schema). For the platform owner
    acting inside an organization, pass actor=None and say who in `actor_label`.
    """
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label or (str(actor) if actor is not None else "system"),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        before=before,
        after=after,
        ip_address=ip_address,
    )


def user_create(
    *,
    phone_number: str,
    name: str = "",
    role: str = User.Role.MEMBER,
    email: str = "",
    language: str = "",
    referred_by: User | None = None,
    actor: User | None = None,
    ip_address: str | None = None,
) -> User:
    """Create a user in the current schema with a fresh, unique account code.

    Raises django ValidationError for a bad phone number or a number already registered.
    """
    from django.core.exceptions import ValidationError

    phone = normalize_phone(phone_number)
    if User.objects.filter(phone_number=phone).exists():
        raise ValidationError({"phone_number": "A member with this phone number already exists."})
    for _attempt in range(10):
        user = User(
            phone_number=phone, name=name.strip(), role=role, email=email, language=language,
            referred_by=referred_by, account_code=new_account_code(),
        )
        user.set_unusable_password()
        user.full_clean(exclude=["password", "account_code"])
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            if User.objects.filter(phone_number=phone).exists():
                raise ValidationError({"phone_number": "A member with this phone number already exists."}) from None
            continue  # account code collision: draw another
        audit_record(
            actor=actor, action="user.created", target=user,
            after={"phone_number": phone, "name": user.name, "role": role}, ip_address=ip_address,
        )
        return user
    raise RuntimeError("could not allocate a unique account code")
