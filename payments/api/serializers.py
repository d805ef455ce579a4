from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from payments.models import MpesaSettings, Transaction
from payments.payloads import STK_DEFAULT_FAILURE, STK_RESULT_MESSAGES


class TransactionSerializer(serializers.ModelSerializer):
    challenge = serializers.PrimaryKeyRelatedField(read_only=True)
    user = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = ["id", "amount", "mpesa_receipt", "transaction_id", "status", "challenge", "created_at",
                  "source", "transacted_at", "user", "result_code", "message"]
        read_only_fields = fields

    def to_representation(self, obj):
        """What DRF's field loop returns, built directly: the ledger list is a hot path (issue 13) and
        the loop cost more than the queries. The declared fields still format the amount and the
        times, and drive the OpenAPI schema; tests/payments/test_transaction_serializer.py holds the
        two equal."""
        fields = self.fields
        moment = fields["created_at"].to_representation
        return {
            "id": obj.pk, "amount": fields["amount"].to_representation(obj.amount),
            "mpesa_receipt": obj.mpesa_receipt, "transaction_id": obj.transaction_id, "status": obj.status,
            "challenge": obj.challenge_id, "created_at": moment(obj.created_at), "source": obj.source,
            "transacted_at": moment(obj.transacted_at) if obj.transacted_at is not None else None,
            "user": self.get_user(obj), "result_code": obj.result_code, "message": self.get_message(obj),
        }

    def get_user(self, obj) -> dict | None:
        return {"id": obj.user_id, "name": obj.user.display_name} if obj.user_id else None

    def get_message(self, obj) -> str:
        return transaction_message(obj)


def transaction_message(tx: Transaction) -> str:
    """A plain sentence for the member about where their payment stands."""
    from django.utils.translation import gettext as _

    if tx.status == Transaction.Status.PENDING:
        return _("Check your phone and enter your M-Pesa PIN to confirm.")
    if tx.status == Transaction.Status.VERIFIED:
        return _("Payment received. Thank you!")
    if tx.status == Transaction.Status.FAILED:
        try:
            code = int(tx.result_code)
        except ValueError:
            code = None
        if tx.result_desc.startswith("Paid; credited as"):
            return _("Payment received. Thank you!")
        return _(STK_RESULT_MESSAGES.get(code, STK_DEFAULT_FAILURE))
    if tx.status == Transaction.Status.UNMATCHED:
        return _("Received; waiting for an admin to match it to a member.")
    return _("This payment was reversed.")


class StkPushRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=9, decimal_places=2, min_value=Decimal("1"),
                                      max_value=Decimal("250000"))
    challenge = serializers.IntegerField(required=False, allow_null=True)

    def validate_amount(self, value):
        if value != value.to_integral_value():
            raise serializers.ValidationError("M-Pesa takes whole shillings.")
        return value


class StkPushResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    checkout_request_id = serializers.CharField()
    status = serializers.CharField()


class AssignSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    challenge = serializers.IntegerField(required=False, allow_null=True)


class ManualDepositRequestSerializer(serializers.Serializer):
    """A cash or bank deposit a leader records; send an `Idempotency-Key` header so a retry records once."""

    user = serializers.IntegerField(min_value=1)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=1)
    paid_on = serializers.DateField()
    method = serializers.ChoiceField(choices=["cash", "bank"], default="cash")
    challenge = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    confirm_repeat = serializers.BooleanField(default=False, help_text="The same amount for the same member and day "
                                              "again within 15 minutes is refused (400 `confirm_repeat`) unless true.")


class ManualDepositSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="user_id")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid_on = serializers.DateField()
    method = serializers.CharField()
    note = serializers.CharField()
    status = serializers.CharField()
    recorded_by = serializers.IntegerField(source="recorded_by_id")
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    transaction = serializers.IntegerField(source="transaction_id", allow_null=True)
    created_at = serializers.DateTimeField()


class ManualDepositRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class UnmatchedCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["ignored", "refunded"])
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class UnmatchedOutcomeSerializer(serializers.Serializer):
    transaction = serializers.IntegerField(source="transaction_id")
    outcome = serializers.CharField()
    note = serializers.CharField()
    decided_at = serializers.DateTimeField()


class ReverseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class MpesaSettingsSerializer(serializers.ModelSerializer):
    """Secrets are write-only: they come back masked."""

    consumer_key = serializers.CharField(required=False, allow_blank=True, write_only=False)
    consumer_secret = serializers.CharField(required=False, allow_blank=True)
    passkey = serializers.CharField(required=False, allow_blank=True)
    security_credential = serializers.CharField(required=False, allow_blank=True)
    callback_urls = serializers.SerializerMethodField()

    class Meta:
        model = MpesaSettings
        fields = ["shortcode", "shortcode_type", "environment", "initiator_name", "strict_validation",
                  "cash_second_approval_over",
                  "consumer_key", "consumer_secret", "passkey", "security_credential", "callback_urls",
                  "urls_registered_at"]
        read_only_fields = ["callback_urls", "urls_registered_at"]
        extra_kwargs = {"cash_second_approval_over": {"min_value": 1, "max_value": 250000}}

    def to_representation(self, instance):
        from payments.selectors import secret_mask

        data = super().to_representation(instance)
        for field in MpesaSettings.SECRET_FIELDS:
            data[field] = secret_mask(getattr(instance, field))
        return data

    def get_callback_urls(self, obj) -> dict:
        from django.db import connection

        from payments.selectors import mpesa_callback_urls

        return mpesa_callback_urls(organization=connection.tenant)

    def validate_shortcode(self, value):
        if value and not value.isdigit():
            raise serializers.ValidationError("A shortcode is digits only.")
        return value
