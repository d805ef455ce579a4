"""The platform owner's analytics page in Django admin (public host): read-only, from the
summary rows each organization's rollup job publishes."""

from __future__ import annotations


from django.contrib import admin
from django.utils.html import format_html

from analytics.platform.models import OrganizationStats
from analytics.platform.selectors import platform_summary
from savegame.csvexport import csv_response


def _pct(value) -> str:
    return "–" if value is None else f"{value * 100:+.1f}%"


@admin.register(OrganizationStats)
class OrganizationStatsAdmin(admin.ModelAdmin):
    change_list_template = "admin/platform_analytics/organizationstats/change_list.html"
    list_display = [
        "organization",
        "tier",
        "status",
        "members",
        "member_growth",
        "active_savers_7d",
        "active_savers_30d",
        "kes_saved",
        "saved_30d",
        "savings_growth",
        "last_activity_on",
        "rolled_up_through",
    ]
    list_filter = ["organization__subscription_tier", "organization__subscription_status"]
    search_fields = ["organization__name", "organization__slug"]
    list_select_related = ["organization"]
    ordering = ["-total_saved"]
    actions = ["export_csv"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Tier", ordering="organization__subscription_tier")
    def tier(self, obj):
        return obj.organization.get_subscription_tier_display()

    @admin.display(description="Status", ordering="organization__subscription_status")
    def status(self, obj):
        return obj.organization.get_subscription_status_display()

    @admin.display(description="KES saved", ordering="total_saved")
    def kes_saved(self, obj):
        return format_html("{}", f"{obj.total_saved:,.2f}")

    @admin.display(description="Member growth (30 d)")
    def member_growth(self, obj):
        return _pct(obj.member_growth_30d)

    @admin.display(description="Savings growth (30 d vs prior)")
    def savings_growth(self, obj):
        return _pct(obj.savings_growth_30d)

    @admin.action(description="Export the selected organizations as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response, writer = csv_response(filename="platform-analytics.csv")
        writer.writerow(
            [
                "organization",
                "slug",
                "tier",
                "status",
                "members",
                "member_growth_30d",
                "active_savers_7d",
                "active_savers_30d",
                "deposits",
                "kes_saved",
                "kes_saved_30d",
                "savings_growth_30d",
                "last_activity_on",
                "rolled_up_through",
            ]
        )
        for row in queryset.select_related("organization"):
            org = row.organization
            writer.writerow(
                [
                    org.name,
                    org.slug,
                    org.subscription_tier,
                    org.subscription_status,
                    row.members,
                    row.member_growth_30d,
                    row.active_savers_7d,
                    row.active_savers_30d,
                    row.deposits_count,
                    row.total_saved,
                    row.saved_30d,
                    row.savings_growth_30d,
                    row.last_activity_on,
                    row.rolled_up_through,
                ]
            )
        return response

    def changelist_view(self, request, extra_context=None):
        totals = platform_summary()["totals"]
        extra_context = {
            **(extra_context or {}),
            "platform_totals": totals,
            "member_growth": _pct(totals["member_growth_30d"]),
            "savings_growth": _pct(totals["savings_growth_30d"]),
        }
        return super().changelist_view(request, extra_context=extra_context)
