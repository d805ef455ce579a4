"""Serializers for the challenges API (shapes only; rules live in services)."""

from __future__ import annotations

from rest_framework import serializers

from challenges.models import Badge, Challenge, Participant


class ChallengeSerializer(serializers.ModelSerializer):
    total_saved = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    joined = serializers.SerializerMethodField()
    target = serializers.JSONField(help_text="Per type: fixed_amount {amount, frequency}; percentage {increase, "
                                             "baseline: last_month, min_amount?}; streak {consecutive_weeks | "
                                             "consecutive_days, min_amount?}; group {team_amount, min_members}.")

    class Meta:
        model = Challenge
        fields = ["id", "name", "description", "type", "target", "duration_days", "start_date", "end_date", "status",
                  "code", "participants_count", "total_saved", "joined", "created_at", "updated_at"]
        read_only_fields = ["id", "end_date", "code", "participants_count", "total_saved", "joined", "created_at",
                            "updated_at"]

    def get_joined(self, obj) -> bool:
        return obj.pk in self.context.get("joined_ids", set())


class ChallengeWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    type = serializers.ChoiceField(choices=Challenge.Type.choices)
    target = serializers.JSONField()
    duration_days = serializers.IntegerField(min_value=1, max_value=366)
    start_date = serializers.DateField()
    status = serializers.ChoiceField(choices=[("draft", "draft"), ("active", "active")], required=False,
                                     default="draft")


class ChallengePatchSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    type = serializers.ChoiceField(choices=Challenge.Type.choices, required=False)
    target = serializers.JSONField(required=False)
    duration_days = serializers.IntegerField(min_value=1, max_value=366, required=False)
    start_date = serializers.DateField(required=False)
    status = serializers.ChoiceField(choices=Challenge.Status.choices, required=False)


class ParticipantSerializer(serializers.ModelSerializer):
    total_contributed = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    team = serializers.SerializerMethodField()

    class Meta:
        model = Participant
        fields = ["id", "challenge", "user", "team", "status", "progress", "total_contributed", "points", "rank",
                  "joined_at", "completed_at"]
        read_only_fields = fields

    def get_team(self, obj) -> dict | None:
        return {"id": obj.team_id, "name": obj.team.name} if obj.team_id else None


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user = serializers.DictField()
    score = serializers.IntegerField()
    total_saved = serializers.CharField()


class LeaderboardMeSerializer(LeaderboardRowSerializer):
    gap_to_next = serializers.IntegerField(allow_null=True, help_text="Points to reach the member ranked just above.")


class LeaderboardSerializer(serializers.Serializer):
    results = LeaderboardRowSerializer(many=True)
    me = LeaderboardMeSerializer(allow_null=True)
    count = serializers.IntegerField()


class TeamCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    members_count = serializers.IntegerField()
    total_saved = serializers.CharField()
    team_amount = serializers.CharField()
    min_members = serializers.IntegerField()
    ratio = serializers.CharField()
    goal_reached = serializers.BooleanField()
    completed = serializers.BooleanField()
    rank = serializers.IntegerField(allow_null=True)


class BadgeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Badge
        fields = ["id", "slug", "name", "name_sw", "description", "description_sw", "icon", "criteria", "rarity",
                  "per_challenge", "is_active"]

    def validate_criteria(self, value):
        from django.core.exceptions import ValidationError

        from challenges.badges import criteria_validate

        try:
            criteria_validate(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["criteria"]) from None
        return value


class AchievementsSerializer(serializers.Serializer):
    member = serializers.DictField()
    points = serializers.IntegerField()
    earned = serializers.ListField(child=serializers.DictField())
    locked = serializers.ListField(child=serializers.DictField())
    history = serializers.ListField(child=serializers.DictField(), help_text="Latest point awards, newest first.")


class ProgressSerializer(serializers.Serializer):
    member = serializers.DictField()
    points = serializers.IntegerField()
    total_contributed = serializers.CharField()
    results = serializers.ListField(child=serializers.DictField())
