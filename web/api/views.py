"""The organization API: settings of the caller's own organization, org_admin only.

`{id}` is `current` or this host's organization id; any other id answers 404 (the same answer
whether it exists elsewhere or not, so ids of other organizations cannot be probed).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMember, IsOrgAdmin
from savegame.clientip import client_ip
from savegame.jsonbody import JSONParser
from web.api.serializers import BrandingUploadSerializer, OrganizationSerializer, organization_representation
from web.services import organization_logo_set, organization_settings_update

ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="`current` or this organization's id")


def _organization(request, id: str):
    organization = request.tenant
    if id != "current" and id != str(organization.id):
        raise NotFound("No such organization.")
    return organization


def _actor(request) -> str:
    return f"org_admin:{request.user.phone_number}"


def _who(request) -> dict:
    return {"actor": request.user, "ip_address": client_ip(request)}


class OrganizationDetail(APIView):
    permission_classes = [IsOrgAdmin]
    parser_classes = [JSONParser]

    @extend_schema(parameters=[ID_PARAMETER], responses=OrganizationSerializer, operation_id="organizations_retrieve")
    def get(self, request, id: str):
        return Response(organization_representation(_organization(request, id)))

    @extend_schema(parameters=[ID_PARAMETER], request=OrganizationSerializer, responses=OrganizationSerializer,
                   operation_id="organizations_partial_update")
    def patch(self, request, id: str):
        organization = _organization(request, id)
        serializer = OrganizationSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            organization = organization_settings_update(organization=organization, data=serializer.validated_data,
                                                        actor_label=_actor(request), **_who(request))
        except DjangoValidationError as exc:
            raise ValidationError(_nested(exc.message_dict)) from exc
        return Response(organization_representation(organization))


def _nested(errors: dict) -> dict:
    """{"scoring.points_per_kes": [...]} -> {"scoring": {"points_per_kes": [...]}} (the serializer's shape)."""
    out: dict = {}
    for field, messages in errors.items():
        head, _, rest = field.partition(".")
        if rest:
            out.setdefault(head, {})[rest] = messages
        else:
            out[head] = messages
    return out


class OrganizationBranding(APIView):
    permission_classes = [IsOrgAdmin]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(parameters=[ID_PARAMETER], request={"multipart/form-data": BrandingUploadSerializer},
                   responses=OrganizationSerializer, operation_id="organizations_branding_create")
    def post(self, request, id: str):
        organization = _organization(request, id)
        serializer = BrandingUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("logo") is not None:
            organization = organization_logo_set(organization=organization, logo=data["logo"],
                                                 actor_label=_actor(request), **_who(request))
        elif data.get("remove_logo"):
            organization = organization_logo_set(organization=organization, logo=None,
                                                 actor_label=_actor(request), **_who(request))
        colours = {k: data[k] for k in ("primary_color", "accent_color") if k in data}
        if colours:
            organization = organization_settings_update(organization=organization, data={"branding": colours},
                                                        actor_label=_actor(request), **_who(request))
        return Response(organization_representation(organization), status=status.HTTP_200_OK)


class HomeTiles(APIView):
    """The member's home tiles (the page's polling fallback when the live stream is unavailable)."""

    permission_classes = [IsMember]

    @extend_schema(summary="My home tiles: savings, streak, points, rank (numbers and as shown)")
    def get(self, request):
        from web.selectors import member_home_tiles

        return Response(member_home_tiles(user=request.user, organization=request.tenant))
