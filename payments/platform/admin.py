"""The platform owner's view of refused Daraja callbacks (Django admin, public host): read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from payments.platform.models import RefusedCallback


@admin.register(RefusedCallback)
class RefusedCallbackAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "kind", "reason", "status_code", "remote_ip", "body_bytes", "detail"]
    list_filter = ["reason", "kind", "organization"]
    list_select_related = ["organization"]
    search_fields = ["remote_ip", "detail", "organization__slug"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in RefusedCallback._meta.fields]
    actions = ["release_held_back"]

    @admin.action(description=gettext_lazy("Process the held-back callbacks of these organizations again"))
    def release_held_back(self, request, queryset):
        from django_tenants.utils import schema_context

        from payments.inbox import callback_quarantine_release
        from tenants.models import Organization

        released = 0
        for organization in Organization.objects.filter(pk__in=queryset.values("organization_id")):
            with schema_context(organization.schema_name):
                released += callback_quarantine_release(actor=None, actor_label=f"platform: {request.user}")
        self.message_user(request, _("%(n)d held-back callbacks sent back to be processed.") % {"n": released},
                          messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
