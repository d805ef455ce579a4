"""Request/response shapes for the notifications API."""

from rest_framework import serializers

from notifications import content
from notifications.models import Broadcast, Channel, Notification


class PushKeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200)
    auth = serializers.CharField(max_length=100)


class PushSubscriptionInSerializer(serializers.Serializer):
    """The browser's PushSubscription.toJSON()."""

    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysSerializer()
    expirationTime = serializers.IntegerField(required=False, allow_null=True)


class PushSubscriptionOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.URLField()
    created_at = serializers.DateTimeField()


class PushConfigSerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="VAPID application server key (base64url)")
    subscriptions = serializers.IntegerField()


class PreferencesSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    has_whatsapp = serializers.BooleanField(required=False)
    sms_enabled = serializers.BooleanField(required=False)
    whatsapp_enabled = serializers.BooleanField(required=False)
    reminders_enabled = serializers.BooleanField(required=False)
    opt_out_reason = serializers.CharField(read_only=True)
    push_devices = serializers.IntegerField(read_only=True)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "user", "channel", "template", "language", "title", "message", "status", "reason",
                  "provider_message_id", "delivery_status", "cost", "attempts", "scheduled_for", "created_at",
                  "sent_at", "delivered_at"]


class TemplateSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=content.TEMPLATE_KEYS, read_only=True)
    label = serializers.CharField(read_only=True)
    language = serializers.ChoiceField(choices=content.LANGUAGES, read_only=True)
    title = serializers.CharField(max_length=content.MAX_TITLE)
    body = serializers.CharField()
    placeholders = serializers.ListField(child=serializers.CharField(), read_only=True)
    sample = serializers.CharField(read_only=True)
    encoding = serializers.CharField(read_only=True)
    characters = serializers.IntegerField(read_only=True)
    segments = serializers.IntegerField(read_only=True)
    cost_per_message = serializers.CharField(read_only=True)
    customized = serializers.BooleanField(read_only=True)


class SmsSettingsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=80, required=False, allow_blank=True)
    api_key = serializers.CharField(required=False, allow_blank=True, help_text="Write-only; shown masked.")
    sender_id = serializers.CharField(max_length=11, required=False, allow_blank=True)
    whatsapp_number = serializers.RegexField(r"^\+[1-9][0-9]{7,14}$", max_length=16, required=False, allow_blank=True,
                                             error_messages={"invalid": "Use the international format, e.g. +254711082000."})
    cost_per_segment = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, min_value=0)
    quiet_hours_start = serializers.TimeField(required=False)
    quiet_hours_end = serializers.TimeField(required=False)
    daily_cap = serializers.IntegerField(required=False, min_value=1, max_value=50)
    configured = serializers.BooleanField(read_only=True)
    delivery_report_url = serializers.CharField(read_only=True)


class BroadcastInSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=content.MAX_BROADCAST_CHARS)
    audience = serializers.ChoiceField(choices=Broadcast.Audience.choices, default=Broadcast.Audience.ALL)
    challenge = serializers.IntegerField(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs["audience"] == Broadcast.Audience.CHALLENGE and not attrs.get("challenge"):
            raise serializers.ValidationError({"challenge": "Choose the challenge whose participants get it."})
        return attrs


class BroadcastPreviewSerializer(serializers.Serializer):
    previews = serializers.DictField(child=serializers.CharField())
    recipients = serializers.IntegerField()
    encoding = serializers.CharField()
    characters = serializers.IntegerField()
    segments = serializers.IntegerField()
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=2)


class SkippedReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    names = serializers.ListField(child=serializers.CharField())


class BroadcastProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    recipients = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    pending = serializers.IntegerField()
    percent = serializers.IntegerField()
    estimated_cost = serializers.CharField()
    skipped_by_reason = SkippedReasonSerializer(many=True)
