"""accounts pages on the organization host."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("join/", views.join_view, name="join"),
    path("manage/members/import/", views.manage_member_import, name="manage-member-import"),
    path("manage/members/<int:member_id>/role/", views.manage_member_role, name="manage-member-role"),
    path("manage/members/<int:member_id>/remove/", views.manage_member_remove, name="manage-member-remove"),
    path("manage/members/<int:member_id>/restore/", views.manage_member_restore, name="manage-member-restore"),
    path("manage/audit/", views.manage_audit, name="manage-audit"),
]
