"""challenges API routes, under /api/v1/."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from challenges.api.goals import GoalDetailApi, GoalListApi, GoalUptakeApi, StreakFreezeListApi
from challenges.api.views import BadgeViewSet, ChallengeViewSet, MemberAchievementsView, MemberProgressView

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("challenges", ChallengeViewSet, basename="challenge")
router.register("badges", BadgeViewSet, basename="badge")

urlpatterns = [
    re_path(r"^members/(?P<member_id>[0-9]+)/achievements/?$", MemberAchievementsView.as_view(),
            name="member-achievements"),
    re_path(r"^members/(?P<member_id>[0-9]+)/progress/?$", MemberProgressView.as_view(), name="member-progress"),
    # issue 18: personal goals and streak freezes
    re_path(r"^goals/?$", GoalListApi.as_view(), name="goal-list-api"),
    re_path(r"^goals/uptake/?$", GoalUptakeApi.as_view(), name="goal-uptake-api"),
    re_path(r"^goals/(?P<pk>[0-9]+)/?$", GoalDetailApi.as_view(), name="goal-detail-api"),
    re_path(r"^streak-freezes/?$", StreakFreezeListApi.as_view(), name="streak-freeze-list-api"),
    *router.urls,
]
