"""Analytics API (org_admin): entry points only; the figures come from analytics.selectors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsOrgAdmin
from analytics import selectors
from analytics.api import serializers as s

RANGE_PARAMS = [
    OpenApiParameter("from", str, description="First day, YYYY-MM-DD (org time zone). Default: 90 days before `to`."),
    OpenApiParameter("to", str, description="Last day, YYYY-MM-DD. Default: today."),
    OpenApiParameter("challenge", int, description="Only this challenge."),
]


class AnalyticsView(APIView):
    permission_classes = [IsAuthenticated, IsOrgAdmin]
    query_serializer = s.ReportQuerySerializer

    def params(self, request) -> dict:
        query = self.query_serializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data


class OverviewView(AnalyticsView):
    query_serializer = s.OverviewQuerySerializer

    @extend_schema(parameters=[RANGE_PARAMS[2]], responses=s.OverviewSerializer, tags=["analytics"])
    def get(self, request):
        params = self.params(request)
        return Response(selectors.analytics_overview(challenge_id=params.get("challenge")))


class SavingsTrendsView(AnalyticsView):
    query_serializer = s.TrendsQuerySerializer

    @extend_schema(
        parameters=[*RANGE_PARAMS, OpenApiParameter("granularity", str, enum=["day", "week", "month"])],
        responses=s.TrendsSerializer,
        tags=["analytics"],
    )
    def get(self, request):
        p = self.params(request)
        return Response(
            selectors.analytics_savings_trends(
                first=p.get("from"), last=p.get("to"), challenge_id=p.get("challenge"), granularity=p["granularity"]
            )
        )


class EngagementView(AnalyticsView):
    @extend_schema(parameters=RANGE_PARAMS, responses=s.EngagementSerializer, tags=["analytics"])
    def get(self, request):
        p = self.params(request)
        return Response(
            selectors.analytics_engagement(first=p.get("from"), last=p.get("to"), challenge_id=p.get("challenge"))
        )
