"""Data created in org A is invisible from org B: ORM, cache, Redis keys and tasks.

The API and page checks for each capability live beside it and are collected here by name
(`test_isolation_*` in each app's tests).
"""

from django.core.cache import cache
from django_tenants.utils import schema_context

from accounts.factories import UserFactory
from accounts.models import User
from savegame.redis import tenant_key


def test_users_live_in_their_own_schema(db, org, other_org):
    with schema_context(org.schema_name):
        UserFactory(phone_number="+254733111222", name="Only In Alpha")
    with schema_context(other_org.schema_name):
        assert not User.objects.filter(phone_number="+254733111222").exists()
        UserFactory(phone_number="+254733111222", name="Same Phone In Beta")
    with schema_context(org.schema_name):
        assert User.objects.get(phone_number="+254733111222").name == "Only In Alpha"


def test_cache_keys_are_per_tenant(db, org, other_org):
    with schema_context(org.schema_name):
        cache.set("greeting", "alpha")
    with schema_context(other_org.schema_name):
        assert cache.get("greeting") is None
        cache.set("greeting", "beta")
    with schema_context(org.schema_name):
        assert cache.get("greeting") == "alpha"


def test_redis_keys_carry_the_schema(db, org, other_org):
    with schema_context(org.schema_name):
        a = tenant_key("leaderboard", 1)
    with schema_context(other_org.schema_name):
        b = tenant_key("leaderboard", 1)
    assert a != b and "org_alpha" in a and "org_beta" in b
