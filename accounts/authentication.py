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
        return self.get_user(validated), validated
