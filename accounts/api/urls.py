"""accounts API routes, under /api/v1/ (no trailing slash required), plus the OpenAPI schema and docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter()
router.trailing_slash = "/?"  # DRF 3.18 turns any truthy trailing_slash= argument into "/"
router.register("members", views.MemberViewSet, basename="member")
router.register("audit", views.AuditEventViewSet, basename="audit-event")

urlpatterns = [
    re_path(r"^auth/send-otp/?$", views.SendOtpView.as_view(), name="auth-send-otp"),
    re_path(r"^auth/verify-otp/?$", views.VerifyOtpView.as_view(), name="auth-verify-otp"),
    re_path(r"^auth/refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(r"^auth/me/?$", views.MeView.as_view(), name="auth-me"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
         name="api-schema"),
    # Split: the init script is a separate request (?script), so the page needs no inline script (CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[AllowAny],
                                                 authentication_classes=[]), name="api-docs"),
    *router.urls,
]
