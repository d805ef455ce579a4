"""Query parameters and (documented) response shapes of the analytics API."""

from __future__ import annotations

from datetime import timedelta

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

MAX_RANGE_DAYS = 366 * 3


class ReportQuerySerializer(serializers.Serializer):
    # `from` is a Python keyword: the field is declared under it with a different attribute.
    to = serializers.DateField(required=False, help_text="Last day (YYYY-MM-DD, org time zone); default today.")
    challenge = serializers.IntegerField(required=False, min_value=1, help_text="Only this challenge.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False, help_text="First day (YYYY-MM-DD); default 90 days back."
        )
        return fields

    def validate_challenge(self, value):
        from analytics import sources

        if not sources.challenges().filter(pk=value).exists():
            raise serializers.ValidationError(_("No such challenge."))
        return value

    def validate(self, attrs):
        first, last = attrs.get("from"), attrs.get("to")
        if first and last and first > last:
            raise serializers.ValidationError({"from": [_("'from' must be on or before 'to'.")]})
        if first and last and last - first > timedelta(days=MAX_RANGE_DAYS):
            raise serializers.ValidationError({"from": [_("The range is limited to three years.")]})
        return attrs


class OverviewQuerySerializer(serializers.Serializer):
    challenge = serializers.IntegerField(required=False, min_value=1, help_text="Only this challenge.")
    validate_challenge = ReportQuerySerializer.validate_challenge


class TrendsQuerySerializer(ReportQuerySerializer):
    granularity = serializers.ChoiceField(choices=["day", "week", "month"], default="day")


class OverviewSerializer(serializers.Serializer):
    total_saved = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Verified deposits, KES.")
    deposits_count = serializers.IntegerField()
    average_deposit = serializers.DecimalField(max_digits=16, decimal_places=2)
    members = serializers.IntegerField(help_text="Active members (role member).")
    active_savers_7d = serializers.IntegerField(help_text="Members with a verified deposit in the last 7 local days.")
    active_savers_30d = serializers.IntegerField()
    participation_rate = serializers.FloatField(help_text="Share of members taking part in a challenge (0..1).")
    challenge_participants = serializers.IntegerField()
    completion_rate = serializers.FloatField(help_text="Completed / participants (0..1).")
    failure_rate = serializers.FloatField(help_text="Failed / participants (0..1).")
    as_of = serializers.DateField()
    rolled_up_through = serializers.DateField(allow_null=True)


class TrendPointSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="First day of the day/ISO week/month.")
    deposits_count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    savers = serializers.IntegerField()
    average_deposit = serializers.DecimalField(max_digits=16, decimal_places=2)


class TrendsSerializer(serializers.Serializer):
    to = serializers.DateField()
    challenge = serializers.IntegerField(allow_null=True)
    granularity = serializers.CharField()
    total_saved = serializers.DecimalField(max_digits=16, decimal_places=2)
    deposits_count = serializers.IntegerField()
    savers = serializers.IntegerField()
    series = TrendPointSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields


class CompletionSerializer(serializers.Serializer):
    participants = serializers.IntegerField()
    active = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    completion_rate = serializers.FloatField()
    failure_rate = serializers.FloatField()


class StreakBucketSerializer(serializers.Serializer):
    weeks = serializers.CharField(help_text="Current weekly streak: 0, 1, 2, 3, 4-7 or 8+ weeks.")
    members = serializers.IntegerField()


class RetentionWeekSerializer(serializers.Serializer):
    week = serializers.IntegerField(help_text="Weeks after the joining week (0 = joining week).")
    savers = serializers.IntegerField()
    rate = serializers.FloatField()


class CohortSerializer(serializers.Serializer):
    cohort = serializers.DateField(help_text="Monday of the ISO week the members joined.")
    members = serializers.IntegerField()
    retention = RetentionWeekSerializer(many=True)


class ConversionSerializer(serializers.Serializer):
    opened = serializers.IntegerField()
    converted = serializers.IntegerField(help_text="Opens followed by a verified deposit within 24 h.")
    conversion_rate = serializers.FloatField()


class EngagementSerializer(serializers.Serializer):
    to = serializers.DateField()
    challenge = serializers.IntegerField(allow_null=True)
    completion = CompletionSerializer()
    streaks = StreakBucketSerializer(many=True)
    retention_cohorts = CohortSerializer(many=True)
    notifications = ConversionSerializer()
    logins = serializers.IntegerField()
    challenge_joins = serializers.IntegerField()

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField()
        return fields
