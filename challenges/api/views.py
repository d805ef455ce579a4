"""Challenges API: entry points only (parse, call one service or selector, render)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsMember, IsOrgAdmin
from accounts.selectors import access_member
from challenges import selectors, services
from challenges.api.serializers import (
    AchievementsSerializer,
    BadgeSerializer,
    ChallengePatchSerializer,
    ChallengeSerializer,
    ChallengeWriteSerializer,
    LeaderboardSerializer,
    ParticipantSerializer,
    ProgressSerializer,
    TeamCreateSerializer,
    TeamSerializer,
)
from challenges.badges import org_badges
from challenges.forms import ChallengeListParams
from challenges.models import Badge, Challenge, Team
from savegame.queryparams import query_params_clean

MAX_LEADERBOARD = 100


class ChallengeViewSet(viewsets.ViewSet):
    """Challenges. Members see non-draft challenges; org admins create, edit, publish and cancel."""

    queryset = Challenge.objects.none()  # typing of {id} in the OpenAPI schema; reads go through selectors
    lookup_value_regex = "[0-9]+"

    def get_permissions(self):
        if self.action in ("create", "partial_update", "update", "destroy"):
            return [IsOrgAdmin()]
        return [IsMember()]

    def _challenge(self, request, pk) -> Challenge:
        challenge = selectors.access_challenge(user=request.user, challenge_id=pk)
        if challenge is None:
            raise Http404
        return challenge

    @extend_schema(responses=ChallengeSerializer(many=True),
                   parameters=[OpenApiParameter("status", str, description="draft | active | completed | cancelled")])
    def list(self, request):
        from rest_framework.pagination import PageNumberPagination

        wanted = query_params_clean(params=request.query_params, form_class=ChallengeListParams)["status"]
        rows, joined = selectors.challenge_list_and_joined(user=request.user, status=wanted or "")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        context = {"joined_ids": joined}
        return paginator.get_paginated_response(ChallengeSerializer(page, many=True, context=context).data)

    @extend_schema(request=ChallengeWriteSerializer, responses={201: ChallengeSerializer})
    def create(self, request):
        data = ChallengeWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_create(actor=request.user, **data.validated_data)
        return Response(ChallengeSerializer(challenge).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ChallengeSerializer)
    def retrieve(self, request, pk=None):
        challenge = self._challenge(request, pk)
        context = {"joined_ids": selectors.joined_challenge_ids(user=request.user)}
        return Response(ChallengeSerializer(challenge, context=context).data)

    @extend_schema(request=ChallengePatchSerializer, responses=ChallengeSerializer)
    def partial_update(self, request, pk=None):
        challenge = self._challenge(request, pk)
        data = ChallengePatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        challenge = services.challenge_update(challenge=challenge, actor=request.user, data=data.validated_data)
        return Response(ChallengeSerializer(challenge).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.challenge_delete(challenge=self._challenge(request, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ParticipantSerializer, 201: ParticipantSerializer})
    @action(detail=True, methods=["post"])
    def join(self, request, pk=None):
        participant, created = services.participant_join(challenge=self._challenge(request, pk), user=request.user)
        return Response(ParticipantSerializer(participant).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(responses=LeaderboardSerializer, parameters=[
        OpenApiParameter("limit", int, description=f"Top N (default 10, at most {MAX_LEADERBOARD})."),
        OpenApiParameter("team", int, description="A team's own board (group challenges)."),
    ])
    @action(detail=True, methods=["get"])
    def leaderboard(self, request, pk=None):
        status_ = selectors.challenge_status_cached(challenge_id=int(pk))
        if status_ is None or (status_ == Challenge.Status.DRAFT and request.user.role != "org_admin"):
            raise Http404
        try:
            limit = min(max(int(request.query_params.get("limit", 10)), 1), MAX_LEADERBOARD)
        except ValueError:
            return Response({"limit": ["Must be a whole number."]}, status=status.HTTP_400_BAD_REQUEST)
        team_id = request.query_params.get("team")
        if team_id is not None:
            if not str(team_id).isdigit() or not Team.objects.filter(pk=team_id, challenge_id=pk).exists():
                return Response({"team": ["No such team in this challenge."]}, status=status.HTTP_400_BAD_REQUEST)
            team_id = int(team_id)
        return Response(selectors.leaderboard_read(challenge_id=int(pk), user=request.user, limit=limit,
                                                   team_id=team_id))

    @extend_schema(methods=["get"], responses=TeamSerializer(many=True))
    @extend_schema(methods=["post"], request=TeamCreateSerializer, responses={201: TeamSerializer})
    @action(detail=True, methods=["get", "post"])
    def teams(self, request, pk=None):
        challenge = self._challenge(request, pk)
        if request.method == "POST":
            data = TeamCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            team = services.team_create(challenge=challenge, user=request.user, name=data.validated_data["name"],
                                        join=request.user.role != "org_admin" or bool(request.data.get("join")))
            row = next(r for r in selectors.team_list(challenge=challenge) if r["id"] == team.pk)
            return Response(row, status=status.HTTP_201_CREATED)
        return Response(selectors.team_list(challenge=challenge))

    @extend_schema(request=None, responses=ParticipantSerializer)
    @action(detail=True, methods=["post"], url_path=r"teams/(?P<team_id>[0-9]+)/join")
    def team_join(self, request, pk=None, team_id=None):
        challenge = self._challenge(request, pk)
        team = Team.objects.filter(pk=team_id, challenge=challenge).first()
        if team is None:
            raise Http404
        participant = services.team_join(team=team, user=request.user)
        return Response(ParticipantSerializer(participant).data)

    @extend_schema(request=None, responses=ParticipantSerializer(many=True))
    @action(detail=True, methods=["post"], url_path="teams/auto-assign")
    def team_auto_assign(self, request, pk=None):
        """A member is put in the smallest team; an org admin assigns every participant still without one."""
        challenge = self._challenge(request, pk)
        everyone = request.user.role == "org_admin" and request.data.get("all", True) not in (False, "false", "0")
        assigned = services.team_auto_assign(challenge=challenge, user=None if everyone else request.user)
        return Response(ParticipantSerializer(assigned, many=True).data)


class _MemberReadView(APIView):
    """Open to the member themself and to org admins; anyone else gets the same 404 as a missing member."""

    permission_classes = [IsMember]
    selector = None

    def get(self, request, member_id):
        member = access_member(actor=request.user, member_id=member_id)
        return Response(type(self).selector(member=member))


@extend_schema_view(get=extend_schema(responses=AchievementsSerializer))
class MemberAchievementsView(_MemberReadView):
    selector = staticmethod(selectors.member_achievements)


@extend_schema_view(get=extend_schema(responses=ProgressSerializer))
class MemberProgressView(_MemberReadView):
    selector = staticmethod(selectors.member_progress)


class BadgeViewSet(viewsets.ModelViewSet):
    """The organization's own badges (the platform catalogue is managed in Django admin)."""

    serializer_class = BadgeSerializer
    queryset = Badge.objects.all()

    def get_permissions(self):
        return [IsMember()] if self.action in ("list", "retrieve") else [IsOrgAdmin()]

    def perform_create(self, serializer):
        serializer.save()
        org_badges(fresh=True)

    def perform_update(self, serializer):
        serializer.save()
        org_badges(fresh=True)

    def perform_destroy(self, instance):
        instance.delete()
        org_badges(fresh=True)
