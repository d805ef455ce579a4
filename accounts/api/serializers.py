"""Shapes of the identity API (CONTRACT.md)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import AuditEvent, User
from accounts.phone import normalize_phone


class PhoneNumberField(serializers.CharField):
    """Accepts 0712..., 712..., 254712..., +254712...; gives E.164 or a 400 saying why."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("help_text", "A Kenyan mobile number: 0712345678, 712345678, 254712345678 or +254712345678.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return normalize_phone(text)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0], code=exc.code) from None


class SendOtpSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()


class SendOtpResponseSerializer(serializers.Serializer):
    detail = serializers.CharField()


class VerifyOtpSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()
    code = serializers.RegexField(r"^\s*\d{4,8}\s*$", max_length=16,
                                  error_messages={"invalid": _("Enter the 6-digit code from the SMS.")})


class AuthUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "phone_number", "role"]
        read_only_fields = fields


class TokenPairResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    user = AuthUserSerializer()


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class AccessResponseSerializer(serializers.Serializer):
    access = serializers.CharField()


class MemberSerializer(serializers.ModelSerializer):
    phone_number = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "phone_number", "name", "role", "account_code", "email", "language", "is_active",
                  "date_joined"]
        read_only_fields = ["id", "phone_number", "account_code", "is_active", "date_joined"]


class MemberCreateSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()
    name = serializers.CharField(max_length=120, allow_blank=True, required=False, default="")
    role = serializers.ChoiceField(choices=[User.Role.MEMBER, User.Role.ORG_ADMIN], default=User.Role.MEMBER,
                                   required=False)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class MemberUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, allow_blank=True, required=False)
    role = serializers.ChoiceField(choices=[User.Role.MEMBER, User.Role.ORG_ADMIN], required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=User.Language.choices, required=False)


class MemberImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with `name,phone` columns (header row optional), UTF-8, at most 1 MB.")


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "error"])
    phone_number = serializers.CharField()
    name = serializers.CharField()
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    rows = ImportRowSerializer(many=True)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "actor_label", "action", "target_type", "target_id", "before",
                  "after", "ip_address", "request_id"]
        read_only_fields = fields

    def get_actor(self, obj) -> int | None:
        return obj.actor_id
