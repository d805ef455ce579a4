"""DRF permission classes per role."""

from rest_framework.permissions import BasePermission

from accounts.models import User


class IsOrgAdmin(BasePermission):
    message = "Only this organization's admins can do that."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role == User.Role.ORG_ADMIN)


class IsMember(BasePermission):
    """Any signed-in user of this organization (members and admins)."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.role in (User.Role.MEMBER, User.Role.ORG_ADMIN))
