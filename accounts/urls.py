"""accounts pages on the organization host."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("join/", views.join_view, name="join"),
    path("manage/members/", views.manage_members, name="manage-members"),
    path("manage/members/add/", views.manage_member_add, name="manage-member-add"),
    path("manage/members/import/", views.manage_member_import, name="manage-member-import"),
    path("manage/members/<int:member_id>/role/", views.manage_member_role, name="manage-member-role"),
    path("manage/members/<int:member_id>/remove/", views.manage_member_remove, name="manage-member-remove"),
    path("manage/audit/", views.manage_audit, name="manage-audit"),
]
