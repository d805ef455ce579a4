"""Personal goals and streak freezes API (issue 18), under /api/v1/: entry points only."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMember, IsOrgAdmin
from challenges import freezes, goals, selectors, services


class GoalStreakSerializer(serializers.Serializer):
    current = serializers.IntegerField()
    best = serializers.IntegerField()
    unit = serializers.ChoiceField(choices=["day", "week", "month"])
    freezes_held = serializers.IntegerField(help_text="Streak freezes held (at most 2).")
    freeze_every = serializers.IntegerField(allow_null=True, help_text="Windows in a row that earn a freeze.")
    earn_back = serializers.JSONField(allow_null=True, help_text="{window, by, amount} while a missed window "
                                                                 "can still be earned back, else null.")
    earn_back_used = serializers.BooleanField()


class GoalSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=80)
    target_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    target_date = serializers.DateField(required=False, allow_null=True, help_text="Optional; within a year.")
    frequency = serializers.ChoiceField(choices=["daily", "weekly", "monthly"], default="weekly")
    shared = serializers.BooleanField(default=False, help_text="Leaders may see the goal's name.")
    frequency_label = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="The member's: active, completed or failed.")
    challenge_status = serializers.CharField(read_only=True, help_text="active, completed or cancelled (stopped).")
    challenge_id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True, help_text="Typed after the account code to pay into this goal only.")
    saved = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    percent = serializers.IntegerField(read_only=True)
    per_week = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True,
                                        help_text="What to save each week to make it by the date (null without one).")
    weeks_left = serializers.IntegerField(read_only=True, allow_null=True)
    plan_per_window = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, allow_null=True)
    points = serializers.IntegerField(read_only=True)
    streak = GoalStreakSerializer(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class GoalPatchSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80, required=False)
    shared = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=["cancelled"], required=False, help_text="\"cancelled\" stops the goal.")


class GoalUptakeSerializer(serializers.Serializer):
    goals = serializers.IntegerField()
    members = serializers.IntegerField(help_text="Members with at least one goal.")
    members_total = serializers.IntegerField()
    uptake_percent = serializers.IntegerField()
    running = serializers.IntegerField()
    completed = serializers.IntegerField()
    dated = serializers.IntegerField()
    shared = serializers.IntegerField()
    saved = serializers.DecimalField(max_digits=14, decimal_places=2)
    shared_goals = serializers.ListField(child=serializers.DictField(), help_text="Only goals their members shared.")


class StreakFreezeSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=["earned", "used", "earned_back"])
    reason_label = serializers.CharField()
    count = serializers.IntegerField(help_text="+1, or -1 when a later deposit undid it.")
    window = serializers.DateField()
    detail = serializers.CharField()
    challenge = serializers.DictField()
    created_at = serializers.DateTimeField()


class GoalListApi(APIView):
    """The signed-in member's own goals (GET) and a new goal (POST). Nobody else's are ever listed."""

    permission_classes = [IsMember]

    @extend_schema(responses=GoalSerializer(many=True))
    def get(self, request):
        return Response(goals.member_goals(member=request.user))

    @extend_schema(request=GoalSerializer, responses={201: GoalSerializer})
    def post(self, request):
        data = GoalSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        goal = goals.goal_create(user=request.user, **data.validated_data)
        participant = selectors.participant_of(challenge=goal.challenge, user=request.user)
        return Response(goals.goal_summary(goal, participant, services.local_today()), status=status.HTTP_201_CREATED)


class GoalDetailApi(APIView):
    permission_classes = [IsMember]

    def _goal(self, request, pk):
        goal = goals.goal_of(user=request.user, goal_id=pk)
        if goal is None:
            raise Http404
        return goal

    @extend_schema(responses=GoalSerializer)
    def get(self, request, pk):
        goal = self._goal(request, pk)
        participant = selectors.participant_of(challenge=goal.challenge, user=request.user)
        return Response(goals.goal_summary(goal, participant, services.local_today()))

    @extend_schema(request=GoalPatchSerializer, responses=GoalSerializer)
    def patch(self, request, pk):
        goal = self._goal(request, pk)
        data = GoalPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        goal = goals.goal_update(goal=goal, user=request.user, data=data.validated_data)
        participant = selectors.participant_of(challenge=goal.challenge, user=request.user)
        return Response(goals.goal_summary(goal, participant, services.local_today()))


class GoalUptakeApi(APIView):
    """Leaders: how many members set goals and how they do; names only of goals their members shared."""

    permission_classes = [IsOrgAdmin]

    @extend_schema(responses=GoalUptakeSerializer)
    def get(self, request):
        return Response(goals.goal_uptake())


class StreakFreezeListApi(APIView):
    """The signed-in member's streak freezes: every one earned, used or earned back, with its reason."""

    permission_classes = [IsMember]

    @extend_schema(responses=StreakFreezeSerializer(many=True))
    def get(self, request):
        return Response(freezes.freeze_history(member=request.user))
