"""The platform owner's view of refused Daraja callbacks (Django admin, public host): read-only."""

from __future__ import annotations

from django.contrib import admin

from payments.platform.models import RefusedCallback


@admin.register(RefusedCallback)
class RefusedCallbackAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "kind", "reason", "status_code", "remote_ip", "body_bytes", "detail"]
    list_filter = ["reason", "kind", "organization"]
    list_select_related = ["organization"]
    search_fields = ["remote_ip", "detail", "organization__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RefusedCallback._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
