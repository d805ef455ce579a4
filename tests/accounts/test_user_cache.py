"""The API's authenticated user comes from accounts' user cache (accounts.selectors.user_cached,
issue 13): the row for minutes, forgotten on every write through accounts.services, tenant-keyed."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts.models import User


@pytest.fixture
def bearer(api_client_for, org):
    from accounts.authentication import tokens_for_user

    def make(user, organization=None):
        client = api_client_for(organization or org)
        client.credentials(HTTP_AUTHORIZATION="Bearer " + tokens_for_user(user)["access"])
        return client

    return make


@pytest.fixture
def member(tenant):
    from accounts.services import user_create

    return user_create(phone_number="+254712300111", name="Akinyi")


def test_the_user_is_cached_and_forgotten_when_the_profile_changes(member, bearer):
    from accounts.services import user_profile_update

    api = bearer(member)
    assert api.get("/api/v1/auth/me").json()["name"] == "Akinyi"
    User.objects.filter(pk=member.pk).update(name="Changed behind its back")
    assert api.get("/api/v1/auth/me").json()["name"] == "Akinyi"  # served from the cache
    user_profile_update(user=User.objects.get(pk=member.pk), data={"name": "Akinyi O."})
    assert api.get("/api/v1/auth/me").json()["name"] == "Akinyi O."


def test_an_admins_edit_and_a_removal_take_effect_at_once(member, bearer, org_admin):
    from accounts.services import member_remove, member_update

    api = bearer(member)
    assert api.get("/api/v1/auth/me").json()["role"] == "member"
    member_update(member=member, data={"name": "Renamed"}, actor=org_admin)
    assert api.get("/api/v1/auth/me").json()["name"] == "Renamed"
    member_remove(member=member, actor=org_admin)
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json()["code"] == "user_inactive"


def test_a_user_missing_from_the_database_is_refused_as_simplejwt_refuses_it(member, bearer):
    """No service deletes members; a row that is gone and not cached gets simplejwt's own refusal."""
    from accounts.services import user_create

    ghost = user_create(phone_number="+254712300999", name="Ghost")
    api = bearer(ghost)
    User.objects.filter(pk=ghost.pk).delete()
    response = api.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json()["code"] == "user_not_found"


def test_the_cached_user_never_crosses_organizations(tenant, org, other_org, bearer):
    from accounts.factories import UserFactory

    a = UserFactory(pk=991_001, name="Alpha member")
    assert bearer(a).get("/api/v1/auth/me").json()["name"] == "Alpha member"
    connection.set_tenant(other_org)
    b = UserFactory(pk=991_001, name="Beta member")
    assert bearer(b, other_org).get("/api/v1/auth/me").json()["name"] == "Beta member"
    connection.set_tenant(org)
    assert bearer(a).get("/api/v1/auth/me").json()["name"] == "Alpha member"
