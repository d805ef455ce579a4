"""Reads for identity. `access_*` helpers scope to the tenant and check permission in one place;
a forbidden object and a missing one give the same 404."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import AuditEvent, User


def access_member(*, actor: User, member_id) -> User:
    """The member `member_id` if `actor` may see them (an org admin, or the member themself); else 404."""
    try:
        member_id = int(member_id)
    except (TypeError, ValueError):
        raise Http404 from None
    if actor is None or not actor.is_authenticated:
        raise Http404
    if actor.role != User.Role.ORG_ADMIN and actor.pk != member_id:
        raise Http404
    if actor.pk == member_id and isinstance(actor, User) and actor.role != User.Role.SUPER_ADMIN:
        return actor  # a member reading their own: the row authentication just loaded
    member = User.objects.filter(pk=member_id).exclude(role=User.Role.SUPER_ADMIN).first()
    if member is None:
        raise Http404
    return member


USER_CACHE_SECONDS = 300  # the brief: a member's profile for minutes (forgotten on every write)


def user_cache_key(user_id: int) -> str:
    return f"accounts:user:{int(user_id)}"  # Django's cache: the key function prefixes the tenant schema


def user_cached(*, user_id) -> User | None:
    """The user row an API request authenticates as (JWT), kept in the tenant's cache for minutes.
    accounts.services forgets it whenever the row changes (user_forget), so a removed member's
    token stops working at once; Redis down: read the row."""
    from django.core.cache import cache

    try:
        user = cache.get(user_cache_key(user_id))
    except Exception:
        return User.objects.filter(pk=user_id).first()
    if user is None:
        user = User.objects.filter(pk=user_id).first()
        if user is not None:
            try:
                cache.set(user_cache_key(user_id), user, USER_CACHE_SECONDS)
            except Exception:
                pass
    return user


def user_forget(*, user_ids) -> None:
    """A user row changed: drop the cached copies, now and again after the commit."""
    from django.core.cache import cache
    from django.db import transaction

    keys = [user_cache_key(u) for u in user_ids if u]

    def drop():
        try:
            cache.delete_many(keys)
        except Exception:
            pass

    if keys:
        drop()
        transaction.on_commit(drop)


def member_by_phone(*, phone_number: str) -> User | None:
    """The active member (or org admin) with this E.164 number in the current schema, else None."""
    return (User.objects.filter(phone_number=phone_number, is_active=True)
            .exclude(role=User.Role.SUPER_ADMIN).first())


def member_list(*, search: str = "", role: str = "", include_inactive: bool = False,
                removed: bool = False) -> QuerySet[User]:
    """The organization's people (never the platform owner): active ones, or with `removed` only those
    a leader removed (restorable). The one list behind every member count (member_counts)."""
    qs = User.objects.exclude(role=User.Role.SUPER_ADMIN)
    if removed:
        qs = qs.filter(is_active=False)
    elif not include_inactive:
        qs = qs.filter(is_active=True)
    if role:
        qs = qs.filter(role=role)
    search = (search or "").strip()
    if search:
        digits = "".join(ch for ch in search if ch.isdigit())
        condition = Q(name__icontains=search) | Q(account_code__iexact=search)
        if len(digits) >= 3:
            # people type 0712..., 712... or +254712...: match on the national part
            condition |= Q(phone_number__contains=digits.lstrip("0").removeprefix("254") or digits)
        qs = qs.filter(condition)
    return qs.order_by("name", "phone_number")


def member_counts() -> dict[str, int]:
    """How many people the group has, one query: members, leaders (org admins) and removed ones. The
    overview's "Members" and the members page's caption both read it (issue 16 item 21)."""
    from django.db.models import Count

    return User.objects.exclude(role=User.Role.SUPER_ADMIN).aggregate(
        members=Count("pk", filter=Q(is_active=True, role=User.Role.MEMBER)),
        leaders=Count("pk", filter=Q(is_active=True, role=User.Role.ORG_ADMIN)),
        removed=Count("pk", filter=Q(is_active=False)))


def audit_event_list(*, action: str = "", person: int | None = None, kind: str = "", date_from=None,
                     date_to=None) -> QuerySet[AuditEvent]:
    """The audit log, newest first: one action code, events by or about one person, one kind
    (accounts/audit.py KINDS), between two of the organization's days (both included)."""
    from accounts.audit import kind_filter

    qs = AuditEvent.objects.select_related("actor")
    if action:
        qs = qs.filter(action=action)
    if person:
        qs = qs.filter(Q(actor_id=person) | Q(target_type="accounts.user", target_id=str(person)))
    if kind:
        qs = qs.filter(kind_filter(kind))
    if date_from or date_to:
        from datetime import timedelta

        from tenants.calendar import day_start, organization_zone

        zone = organization_zone()
        if date_from:
            qs = qs.filter(created_at__gte=day_start(date_from, zone))
        if date_to:
            qs = qs.filter(created_at__lt=day_start(date_to + timedelta(days=1), zone))
    return qs.order_by("-created_at", "-id")
