"""challenges API routes, under /api/v1/."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from challenges.api.views import BadgeViewSet, ChallengeViewSet, MemberAchievementsView, MemberProgressView

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("challenges", ChallengeViewSet, basename="challenge")
router.register("badges", BadgeViewSet, basename="badge")

urlpatterns = [
    re_path(r"^members/(?P<member_id>[0-9]+)/achievements/?$", MemberAchievementsView.as_view(),
            name="member-achievements"),
    re_path(r"^members/(?P<member_id>[0-9]+)/progress/?$", MemberProgressView.as_view(), name="member-progress"),
    *router.urls,
]
