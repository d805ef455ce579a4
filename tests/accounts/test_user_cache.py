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


# --- pages: the session and the user from the cache (accounts.backends, SESSION_ENGINE cached_db) ----
def _tables(queries) -> set[str]:
    return {table for q in queries.captured_queries for table in ("django_session", "accounts_user")
            if f'"{table}"' in q["sql"]}


@pytest.fixture
def page(client_for, org, member):
    client = client_for(org)
    client.force_login(member)
    assert client.get("/").status_code == 200  # fills the session's and the user's cached copies
    return client


def test_a_logged_in_page_reads_neither_the_session_nor_the_user_from_the_database(page):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert page.get("/").status_code == 200
    assert _tables(queries) == set()


def test_a_member_deactivated_by_any_save_is_logged_out_of_pages_at_once(page, member):
    """Django admin and other paths save the row without accounts.services: the signal forgets it."""
    user = User.objects.get(pk=member.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = page.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_demoted_leader_loses_the_dashboard_on_the_next_request(client_for, org, org_admin):
    leader = client_for(org)
    leader.force_login(org_admin)
    assert leader.get("/manage/").status_code == 200
    user = User.objects.get(pk=org_admin.pk)
    user.role = User.Role.MEMBER
    user.save(update_fields=["role"])
    assert leader.get("/manage/").status_code != 200


def test_a_session_made_before_the_cached_backend_still_logs_in(client_for, org, member):
    """Sessions name their backend; those made with Django's ModelBackend (before this change) work."""
    client = client_for(org)
    client.force_login(member, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get("/")
    assert response.status_code == 200 and b"Akinyi" in response.content


def test_pages_work_when_the_session_cache_is_down(client_for, org, member, settings):
    """Redis gone: the session comes from the database and the user from its row, no 500."""
    import copy
    import socket

    client = client_for(org)
    client.force_login(member)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    caches = copy.deepcopy(settings.CACHES)
    for alias in caches.values():
        alias["LOCATION"] = dead
    settings.CACHES = caches  # Django resets its cache handlers on this change
    response = client.get("/profile/")
    assert response.status_code == 200 and b"Akinyi" in response.content
