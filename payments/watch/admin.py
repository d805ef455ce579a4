"""The platform owner's view of every organization's findings, and each one's thresholds."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils import timezone

from payments.watch.models import Finding, PlatformHealth, WatchSettings


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "rule", "member_name", "transaction_id", "reason", "reviewed_at",
                    "reviewed_by")
    list_filter = ("rule", ("reviewed_at", admin.EmptyFieldListFilter), "organization")
    search_fields = ("subject", "member_name", "organization__slug")
    readonly_fields = ("organization", "rule", "subject", "member_id", "member_name", "transaction_id", "details",
                       "created_at", "reason")
    actions = ["mark_reviewed"]

    @admin.action(description="Mark reviewed")
    def mark_reviewed(self, request, queryset):
        count = queryset.filter(reviewed_at__isnull=True).update(reviewed_at=timezone.now(),
                                                                  reviewed_by=str(request.user)[:150])
        messages.success(request, f"{count} finding(s) marked reviewed.")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WatchSettings)
class WatchSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "thresholds", "updated_at")
    autocomplete_fields = ()


@admin.register(PlatformHealth)
class PlatformHealthAdmin(admin.ModelAdmin):
    """Webhook success rate, drain lag, challenge completion and weekly active savers per organization."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        from django.template.response import TemplateResponse

        from payments.watch.platform import platform_health

        context = {**self.admin_site.each_context(request), "title": "Platform health", "opts": self.model._meta,
                   "rows": platform_health()}
        return TemplateResponse(request, "admin/payments_watch/platform_health.html", context)
