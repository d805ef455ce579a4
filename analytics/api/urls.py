"""analytics API routes, under /api/v1/ (a trailing slash is accepted too)."""

from django.urls import path

from analytics.api import views


def _slash_variant(view):
    # Same view, hidden from the OpenAPI document so each path is listed once, without the slash.
    return type(f"{view.__name__}Slash", (view,), {"schema": None}).as_view()


ROUTES = [
    ("analytics/overview", views.OverviewView, "api-analytics-overview"),
    ("analytics/savings-trends", views.SavingsTrendsView, "api-analytics-savings-trends"),
    ("analytics/engagement", views.EngagementView, "api-analytics-engagement"),
]

urlpatterns = [path(route, view.as_view(), name=name) for route, view, name in ROUTES] + [
    path(f"{route}/", _slash_variant(view)) for route, view, _name in ROUTES
]
