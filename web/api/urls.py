"""tenants API routes, under /api/v1/ (no trailing slash required)."""

from django.urls import re_path

from web.api.views import HomeTiles, OrganizationBranding, OrganizationDetail

urlpatterns = [
    re_path(r"^home/tiles/?$", HomeTiles.as_view(), name="home-tiles"),
    re_path(r"^organizations/(?P<id>[^/]+)/?$", OrganizationDetail.as_view(), name="organization-detail"),
    re_path(r"^organizations/(?P<id>[^/]+)/branding/?$", OrganizationBranding.as_view(), name="organization-branding"),
]
