"""JWTs that belong to one organization.

User ids are per schema, so out of the box a token minted on org A would log in whoever has the same
id on org B. Every token carries the organization's schema (`org` claim) and is refused on any
other organization's host.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from accounts.models import User


def current_schema(request=None) -> str:
    tenant = getattr(request, "tenant", None) if request is not None else None
    return getattr(tenant, "schema_name", None) or connection.schema_name


def token_org_check(token: Token, *, schema: str) -> None:
    if token.get(settings.JWT_ORG_CLAIM) != schema:
        raise InvalidToken(_("This token belongs to another organization."))


class OrganizationRefreshToken(RefreshToken):
    """A refresh token stamped with the current schema from birth, so the outstanding-token record
    and every access token derived from it carry the organization."""

    def __init__(self, token=None, verify: bool = True) -> None:
        super().__init__(token, verify)
        if token is None:
            self[settings.JWT_ORG_CLAIM] = connection.schema_name

    @property
    def access_token(self):
        access = super().access_token
        access[SESSION_CLAIM] = self["jti"]  # logout of this refresh token denies its access tokens too
        return access


# --- the access-token denylist (logout) ------------------------------------------------------------
# Access tokens are stateless for JWT_ACCESS_MINUTES. Logout puts the access token's `jti` and its
# refresh token's (the `sid` claim every access token minted from it carries) in Redis for that long.
SESSION_CLAIM = "sid"


def _deny_key(jti: str) -> str:
    from savegame.redis import tenant_key

    return tenant_key("jwt-deny", jti)


def token_deny(*, jtis: list[str]) -> None:
    from savegame.redis import redis_client

    ttl = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds()) + 60
    pipe = redis_client().pipeline(transaction=False)
    for jti in filter(None, jtis):
        pipe.set(_deny_key(str(jti)), "1", ex=ttl)
    pipe.execute()


def token_denied(token: Token) -> bool:
    """True when logout revoked this access token (Redis down: not denied, logged; tokens still expire)."""
    import logging

    from savegame.redis import redis_client

    jtis = [str(j) for j in (token.get("jti"), token.get(SESSION_CLAIM)) if j]
    if not jtis:
        return False
    try:
        return bool(redis_client().exists(*[_deny_key(j) for j in jtis]))
    except Exception:
        logging.getLogger(__name__).warning("redis unavailable; token denylist not checked")
        return False


def _denied_and_cached_user(token: Token) -> tuple[bool, User | None]:
    """token_denied and the cached user row (accounts.selectors.user_cached) in one Redis round trip:
    every API request asks both (issue 13). Redis down: token_denied's own answer, no cached user."""
    from django.core.cache import cache
    from django_redis import get_redis_connection
    from rest_framework_simplejwt.settings import api_settings

    from accounts.selectors import user_cache_key

    jtis = [str(j) for j in (token.get("jti"), token.get(SESSION_CLAIM)) if j]
    try:
        user_id = int(token[api_settings.USER_ID_CLAIM])
    except (KeyError, TypeError, ValueError):
        return token_denied(token), None
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        if jtis:
            pipe.exists(*[_deny_key(j) for j in jtis])
        pipe.get(cache.make_key(user_cache_key(user_id)))
        results = pipe.execute()
        raw = results[-1]
        return (bool(results[0]) if jtis else False), (cache.client.decode(raw) if raw is not None else None)
    except Exception:
        return token_denied(token), None


def tokens_for_user(user: User) -> dict:
    """A refresh/access pair for `user`, bound to the current organization."""
    refresh = OrganizationRefreshToken.for_user(user)  # recorded as outstanding (token_blacklist, tenant schema)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


class OrganizationJWTAuthentication(JWTAuthentication):
    """simplejwt's Bearer authentication, plus: the token's organization must be this host's."""

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        validated = self.get_validated_token(raw_token)
        token_org_check(validated, schema=current_schema(request))
        denied, user = _denied_and_cached_user(validated)
        if denied:
            raise InvalidToken(_("This token was revoked at logout."))
        if user is None or not user.is_active:
            user = self.get_user(validated)  # fills the cache, or simplejwt's own refusal
        return user, validated

    def get_user(self, validated_token):
        """The row from accounts' user cache (a query per API request before); a missing or inactive
        user goes through simplejwt's own lookup and its errors."""
        from rest_framework_simplejwt.settings import api_settings

        from accounts.selectors import user_cached

        try:
            user = user_cached(user_id=int(validated_token[api_settings.USER_ID_CLAIM]))
        except (KeyError, TypeError, ValueError):
            user = None
        if user is None or (api_settings.CHECK_USER_IS_ACTIVE and not user.is_active):
            return super().get_user(validated_token)
        return user
