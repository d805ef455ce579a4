"""analytics pages on the organization host."""

from django.urls import path

from analytics import views

urlpatterns = [
    path("manage/", views.manage_overview, name="manage-overview"),
    path("manage/analytics/", views.manage_analytics, name="manage-analytics"),
    path("manage/analytics/export/<slug:report>.csv", views.manage_analytics_export, name="manage-analytics-export"),
    path("manage/members/statement/", views.manage_group_statement, name="manage-group-statement"),
    path("manage/members/<int:user_id>/statement/", views.manage_member_statement, name="manage-member-statement"),
    path("statement/", views.my_statement, name="my-statement"),
]
