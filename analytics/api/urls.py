"""analytics API routes, under /api/v1/."""

from django.urls import re_path

from analytics.api import views

urlpatterns = [
    re_path(r"^analytics/overview/?$", views.OverviewView.as_view(), name="api-analytics-overview"),
    re_path(r"^analytics/savings-trends/?$", views.SavingsTrendsView.as_view(), name="api-analytics-savings-trends"),
    re_path(r"^analytics/engagement/?$", views.EngagementView.as_view(), name="api-analytics-engagement"),
]
