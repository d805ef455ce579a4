"""Identity API: phone OTP login, JWT refresh/logout, members, audit log. Entry points only."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError

from accounts import selectors, services
from accounts.api import serializers as s
from accounts.audit import KINDS
from accounts.authentication import OrganizationRefreshToken, token_deny, token_org_check, tokens_for_user
from accounts.forms import AuditFilterParams, MemberSearchParams
from accounts.models import User
from accounts.permissions import IsMember, IsOrgAdmin
from savegame.clientip import client_ip
from savegame.jsonbody import JSONParser
from savegame.queryparams import query_params_clean

ERROR = inline_serializer("Error", fields={"detail": serializers.CharField()})
FIELD_ERRORS = OpenApiResponse(description="Field errors: `{field: [reason, ...]}`")
NOT_FOUND = OpenApiResponse(ERROR, description="Missing, or not yours to see (the same answer).")


def _otp_failure(exc: services.OtpError):
    if isinstance(exc, services.OtpRateLimited):
        return Throttled(wait=exc.retry_after, detail=exc.message)
    return ValidationError({"code": [exc.message]})


class SendOtpView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"], request=s.SendOtpSerializer, auth=[],
        responses={202: s.SendOtpResponseSerializer, 400: FIELD_ERRORS, 429: ERROR},
        summary="Text a login code",
        description="Always 202 for a well-formed number, member or not. 429 (with Retry-After) inside the "
                    "60 s resend cool-down or past the per-phone / per-IP send limits.",
    )
    def post(self, request):
        data = s.SendOtpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            services.otp_send(phone_number=data.validated_data["phone_number"], organization=request.tenant,
                              ip_address=client_ip(request))
        except services.OtpError as exc:
            raise _otp_failure(exc) from None
        return Response({"detail": _("If this number can log in here, a code is on its way.")},
                        status=status.HTTP_202_ACCEPTED)


class VerifyOtpView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["auth"], request=s.VerifyOtpSerializer, auth=[],
        responses={200: s.TokenPairResponseSerializer, 400: FIELD_ERRORS, 429: ERROR},
        summary="Exchange the SMS code for tokens",
        description="400 for a wrong or expired code; 429 once the 5 tries for this code are spent.",
    )
    def post(self, request):
        data = s.VerifyOtpSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.otp_verify(phone_number=data.validated_data["phone_number"],
                                       code=data.validated_data["code"].strip(), organization=request.tenant,
                                       ip_address=client_ip(request))
        except services.OtpError as exc:
            raise _otp_failure(exc) from None
        return Response({**tokens_for_user(user), "user": s.AuthUserSerializer(user).data})


def _refresh_token(raw: str) -> OrganizationRefreshToken:
    try:
        token = OrganizationRefreshToken(raw)
    except TokenError as exc:
        raise AuthenticationFailed(str(exc), code="token_not_valid") from None
    token_org_check(token, schema=connection.schema_name)
    return token


class TokenView(APIView):
    """Takes the token in the body, not a header; a bad one is still a 401 with a Bearer challenge."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RefreshView(TokenView):
    @extend_schema(tags=["auth"], request=s.RefreshSerializer, auth=[],
                   responses={200: s.AccessResponseSerializer, 400: FIELD_ERRORS, 401: ERROR},
                   summary="A new access token from a refresh token")
    def post(self, request):
        data = s.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = _refresh_token(data.validated_data["refresh"])
        user = User.objects.filter(pk=token.payload.get(settings.SIMPLE_JWT["USER_ID_CLAIM"])).first()
        if user is None or not user.is_active:
            raise AuthenticationFailed(_("No active account found for the given token."), code="no_active_account")
        return Response({"access": str(token.access_token)})


class LogoutView(TokenView):
    @extend_schema(tags=["auth"], request=s.RefreshSerializer, auth=[],
                   responses={204: None, 400: FIELD_ERRORS, 401: ERROR},
                   summary="Revoke a refresh token (blacklist)")
    def post(self, request):
        data = s.RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = _refresh_token(data.validated_data["refresh"])
        refresh.blacklist()
        token_deny(jtis=[refresh.get("jti"), *_bearer_jti(request)])  # its access tokens stop working now
        return Response(status=status.HTTP_204_NO_CONTENT)


def _bearer_jti(request) -> list[str]:
    """The jti of a valid access token sent with the logout, if any."""
    from rest_framework_simplejwt.exceptions import TokenError as JwtError
    from rest_framework_simplejwt.tokens import AccessToken

    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.startswith("Bearer "):
        return []
    try:
        return [str(AccessToken(header.split(" ", 1)[1].strip()).get("jti") or "")]
    except JwtError:
        return []


class MeView(APIView):
    permission_classes = [IsMember]

    @extend_schema(tags=["auth"], responses={200: s.MemberSerializer, 401: ERROR}, summary="The signed-in member")
    def get(self, request):
        return Response(s.MemberSerializer(request.user).data)


class MemberViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Members of this organization. Org admins manage them; a member may read their own record."""

    serializer_class = s.MemberSerializer
    permission_classes = [IsOrgAdmin]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_permissions(self):
        if self.action == "retrieve":
            return [IsMember()]
        return super().get_permissions()

    def get_queryset(self):
        params = query_params_clean(params=self.request.query_params, form_class=MemberSearchParams)
        return selectors.member_list(search=params["search"], role=params["role"])

    @extend_schema(tags=["members"], parameters=[
        OpenApiParameter("search", str, description="Name, account code or part of the phone number"),
        OpenApiParameter("role", str, enum=["member", "org_admin"]),
    ], responses={200: s.MemberSerializer(many=True), 401: ERROR, 403: ERROR})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(tags=["members"], request=s.MemberCreateSerializer,
                   responses={201: s.MemberSerializer, 400: FIELD_ERRORS, 401: ERROR, 403: ERROR})
    def create(self, request):
        data = s.MemberCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.user_create(**data.validated_data, actor=request.user, ip_address=client_ip(request),
                                      welcome=True)
        return Response(s.MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["members"], responses={200: s.MemberSerializer, 401: ERROR, 404: NOT_FOUND})
    def retrieve(self, request, pk=None):
        member = selectors.access_member(actor=request.user, member_id=pk)
        return Response(s.MemberSerializer(member).data)

    @extend_schema(tags=["members"], request=s.MemberUpdateSerializer,
                   responses={200: s.MemberSerializer, 400: FIELD_ERRORS, 401: ERROR, 403: ERROR, 404: NOT_FOUND})
    def partial_update(self, request, pk=None):
        member = selectors.access_member(actor=request.user, member_id=pk)
        data = s.MemberUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        member = services.member_update(member=member, data=data.validated_data, actor=request.user,
                                        ip_address=client_ip(request))
        return Response(s.MemberSerializer(member).data)

    @extend_schema(tags=["members"], responses={204: None, 400: FIELD_ERRORS, 401: ERROR, 403: ERROR,
                                                404: NOT_FOUND},
                   description="Deactivates the member: no more logins; their history stays.")
    def destroy(self, request, pk=None):
        member = selectors.access_member(actor=request.user, member_id=pk)
        services.member_remove(member=member, actor=request.user, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["members"], request={"multipart/form-data": s.MemberImportSerializer},
                   responses={200: s.ImportReportSerializer, 400: FIELD_ERRORS, 401: ERROR, 403: ERROR},
                   summary="Import members from CSV (name, phone) with a per-row report")
    @action(detail=False, methods=["post"], url_path="import")
    def import_csv(self, request):
        data = s.MemberImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.members_import_csv(text=services.csv_upload_text(upload=data.validated_data["file"]),
                                             actor=request.user, ip_address=client_ip(request))
        return Response(services.import_report(report))


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The organization's audit log: who did what, when, from where, before and after."""

    serializer_class = s.AuditEventSerializer
    permission_classes = [IsOrgAdmin]

    def get_queryset(self):
        params = query_params_clean(params=self.request.query_params, form_class=AuditFilterParams)
        return selectors.audit_event_list(**{k: params[k] for k in ("action", "person", "kind", "date_from", "date_to")})

    @extend_schema(tags=["audit"], parameters=[
        OpenApiParameter("action", str, description="e.g. user.role_changed"),
        OpenApiParameter("person", int, description="a member's id: what they did and what was done to them"),
        OpenApiParameter("kind", str, enum=list(KINDS), description="a kind of action (accounts/audit.py)"),
        OpenApiParameter("date_from", OpenApiTypes.DATE, description="first day, in the organization's time zone"),
        OpenApiParameter("date_to", OpenApiTypes.DATE, description="last day (included)")],
                   responses={200: s.AuditEventSerializer(many=True), 401: ERROR, 403: ERROR})
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

