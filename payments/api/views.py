"""payments API: the ledger, STK push, unmatched assignment, M-Pesa settings."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMember, IsOrgAdmin
from payments import selectors, services
from payments.api.serializers import (
    AssignSerializer,
    ManualDepositRejectSerializer,
    ManualDepositRequestSerializer,
    ManualDepositSerializer,
    MpesaSettingsSerializer,
    ReverseSerializer,
    StkPushRequestSerializer,
    StkPushResponseSerializer,
    TransactionSerializer,
    UnmatchedCloseSerializer,
    UnmatchedOutcomeSerializer,
)
from payments.forms import TransactionFilterForm
from payments.models import Transaction
from savegame.clientip import client_ip
from savegame.queryparams import query_params_clean

FILTERS = ["status", "source", "member", "challenge", "date_from", "date_to", "q"]
FILTER_CHOICES = {"status": Transaction.Status.choices, "source": Transaction.Source.choices}


class TransactionListApi(generics.ListAPIView):
    permission_classes = [IsMember]
    serializer_class = TransactionSerializer

    @extend_schema(parameters=[
        OpenApiParameter(name, int if name in ("member", "challenge") else OpenApiTypes.DATE
                         if name.startswith("date_") else str, required=False,
                         enum=[c for c, _ in FILTER_CHOICES[name]] if name in FILTER_CHOICES else None)
        for name in FILTERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = query_params_clean(params=self.request.query_params, form_class=TransactionFilterForm)
        # The serializer names a row's challenge by id only: no need to load (and decode) the challenge.
        rows = selectors.transaction_list(user=self.request.user, filters=filters)
        return rows.select_related(None).select_related("user")


class TransactionDetailApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(responses=TransactionSerializer)
    def get(self, request, pk: int):
        tx = selectors.transaction_get(user=request.user, pk=pk)
        if tx is None:
            raise NotFound()
        return Response(TransactionSerializer(tx).data)


class StkPushApi(APIView):
    permission_classes = [IsMember]

    @extend_schema(request=StkPushRequestSerializer, responses={202: StkPushResponseSerializer, 409: OpenApiTypes.OBJECT})
    def post(self, request):
        from challenges.models import Challenge
        from payments.daraja import DarajaError

        data = StkPushRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = None
        if data.validated_data.get("challenge"):
            challenge = Challenge.objects.filter(pk=data.validated_data["challenge"]).first()
            if challenge is None:
                raise ValidationError({"challenge": "No such challenge."})
        if not selectors.mpesa_ready():  # issue 16 item 21: a clear refusal, before any row or push
            return Response({"detail": "M-Pesa is not set up for this organization yet: Save now opens once an "
                                       "org admin sets the shortcode and the Daraja keys on /manage/mpesa/.",
                             "code": "mpesa_not_ready"}, status=status.HTTP_409_CONFLICT)
        try:
            tx = services.stk_push_start(user=request.user, amount=data.validated_data["amount"], challenge=challenge)
        except DarajaError as exc:
            return Response({"detail": f"M-Pesa could not start the payment: {exc}"[:300]},
                            status=status.HTTP_502_BAD_GATEWAY)
        return Response({"id": tx.pk, "checkout_request_id": tx.checkout_request_id, "status": tx.status},
                        status=status.HTTP_202_ACCEPTED)


class TransactionAssignApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=AssignSerializer, responses=TransactionSerializer)
    def post(self, request, pk: int):
        from accounts.models import User
        from challenges.models import Challenge

        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(pk=data.validated_data["user"], is_active=True).first()
        if user is None:
            raise ValidationError({"user": "No such member."})
        challenge = None
        if data.validated_data.get("challenge"):
            challenge = Challenge.objects.filter(pk=data.validated_data["challenge"]).first()
            if challenge is None:
                raise ValidationError({"challenge": "No such challenge."})
        if selectors.transaction_get(user=request.user, pk=pk) is None:
            raise NotFound()
        tx = services.transaction_assign(transaction_id=pk, user=user, challenge=challenge, actor=request.user,
                                         ip_address=client_ip(request))
        return Response(TransactionSerializer(tx).data)


class ManualDepositListApi(APIView):
    """Cash and bank deposits leaders record (issue 16.17): credited at once, or held for a second leader."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=["pending", "credited", "rejected"])],
                   responses=ManualDepositSerializer(many=True))
    def get(self, request):
        wanted = request.query_params.get("status") or None
        if wanted not in (None, "pending", "credited", "rejected"):
            raise ValidationError({"status": "One of pending, credited, rejected."})
        return Response(ManualDepositSerializer(selectors.manual_deposits(status=wanted), many=True).data)

    @extend_schema(request=ManualDepositRequestSerializer, parameters=[
        OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)],
        responses={201: ManualDepositSerializer, 200: ManualDepositSerializer})
    def post(self, request):
        from accounts.models import User
        from challenges.models import Challenge

        data = ManualDepositRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            raise ValidationError({"Idempotency-Key": "Send a unique key per deposit, so a retry records it once."})
        values = data.validated_data
        user = User.objects.filter(pk=values["user"], is_active=True).first()
        if user is None:
            raise ValidationError({"user": "No such member."})
        challenge = None
        if values.get("challenge"):
            challenge = Challenge.objects.filter(pk=values["challenge"]).first()
            if challenge is None:
                raise ValidationError({"challenge": "No such challenge."})
        row, created = services.manual_deposit_record(
            request_key=key, user=user, amount=values["amount"], paid_on=values["paid_on"], method=values["method"],
            note=values["note"], challenge=challenge, actor=request.user, confirm_repeat=values["confirm_repeat"],
            ip_address=client_ip(request))
        return Response(ManualDepositSerializer(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ManualDepositDecisionApi(APIView):
    """The second leader approves (credits) or rejects a held cash deposit; the recorder cannot approve it."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(request=ManualDepositRejectSerializer, responses=ManualDepositSerializer)
    def post(self, request, pk: int, decision: str):
        from payments.models import ManualDeposit

        if not ManualDeposit.objects.filter(pk=pk).exists():
            raise NotFound()
        if decision == "approve":
            row = services.manual_deposit_approve(deposit_id=pk, actor=request.user, ip_address=client_ip(request))
        else:
            data = ManualDepositRejectSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            row = services.manual_deposit_reject(deposit_id=pk, actor=request.user, reason=data.validated_data["reason"],
                                                 ip_address=client_ip(request))
        return Response(ManualDepositSerializer(row).data)


class TransactionCloseApi(APIView):
    """An unmatched payment that is no member's: `ignored` (reopenable) or `refunded` (final)."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(request=UnmatchedCloseSerializer, responses={201: UnmatchedOutcomeSerializer})
    def post(self, request, pk: int):
        data = UnmatchedCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if selectors.transaction_get(user=request.user, pk=pk) is None:
            raise NotFound()
        row = services.unmatched_close(transaction_id=pk, outcome=data.validated_data["outcome"],
                                       note=data.validated_data["note"], actor=request.user,
                                       ip_address=client_ip(request))
        return Response(UnmatchedOutcomeSerializer(row).data, status=status.HTTP_201_CREATED)


class TransactionReopenApi(APIView):
    """Put an ignored payment back in the unmatched queue."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(request=None, responses=TransactionSerializer)
    def post(self, request, pk: int):
        if selectors.transaction_get(user=request.user, pk=pk) is None:
            raise NotFound()
        tx = services.unmatched_reopen(transaction_id=pk, actor=request.user, ip_address=client_ip(request))
        return Response(TransactionSerializer(tx).data)


class TransactionReverseApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=ReverseSerializer, responses={201: TransactionSerializer})
    def post(self, request, pk: int):
        data = ReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if selectors.transaction_get(user=request.user, pk=pk) is None:
            raise NotFound()
        entry = services.transaction_reverse(transaction_id=pk, reason=data.validated_data["reason"],
                                             actor=request.user, ip_address=client_ip(request))
        return Response(TransactionSerializer(entry).data, status=status.HTTP_201_CREATED)


class MpesaSettingsApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(responses=MpesaSettingsSerializer)
    def get(self, request):
        return Response(MpesaSettingsSerializer(services.mpesa_settings_init()).data)

    @extend_schema(request=MpesaSettingsSerializer, responses=MpesaSettingsSerializer)
    def patch(self, request):
        data = MpesaSettingsSerializer(services.mpesa_settings_init(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        row = services.mpesa_settings_update(data=data.validated_data, actor=request.user,
                                             ip_address=client_ip(request))
        return Response(MpesaSettingsSerializer(row).data)


class MpesaRegisterUrlsApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=None, responses={200: dict})
    def post(self, request):
        from payments.daraja import DarajaError

        try:
            body = services.c2b_urls_register(actor=request.user, ip_address=client_ip(request))
        except DarajaError as exc:
            return Response({"detail": f"Daraja refused: {exc}"[:300]}, status=status.HTTP_502_BAD_GATEWAY)
        return Response({"daraja": body})


class MpesaRotateTokenApi(APIView):
    permission_classes = [IsOrgAdmin]

    @extend_schema(request=None, responses=MpesaSettingsSerializer)
    def post(self, request):
        row = services.mpesa_callback_token_rotate(actor=request.user, ip_address=client_ip(request))
        return Response(MpesaSettingsSerializer(row).data)
