from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_tenants.utils import schema_context

from accounts.models import AuditEvent, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Platform staff (public schema). Organization members are managed on each org's /manage/."""

    ordering = ["phone_number"]
    list_display = ["phone_number", "name", "email", "role", "is_staff", "is_active"]
    list_filter = ["role", "is_staff", "is_active"]
    search_fields = ["phone_number", "name", "email"]
    readonly_fields = ["account_code", "date_joined", "last_login"]
    fieldsets = (
        (None, {"fields": ("phone_number", "password")}),
        ("Profile", {"fields": ("name", "email", "role", "language", "account_code")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("phone_number", "name", "password1", "password2")}),)


class OrganizationAuditFilter(admin.SimpleListFilter):
    """Pick an organization to read its audit log (each organization keeps its own in its schema)."""

    title = "organization"
    parameter_name = "org"

    def lookups(self, request, model_admin):
        from tenants.selectors import organization_list

        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            return [(o.slug, o.name) for o in organization_list()]

    def queryset(self, request, queryset):
        return queryset  # the schema itself is switched in AuditEventAdmin.changelist_view


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Platform events by default; with ?org=<slug>, that organization's audit log (read-only)."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_id", "ip_address", "before",
                    "after"]
    list_filter = [OrganizationAuditFilter, "action", "target_type"]
    search_fields = ["actor_label", "action", "target_id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    @staticmethod
    def _organization(request):
        from tenants.models import Organization

        slug = request.GET.get(OrganizationAuditFilter.parameter_name)
        if not slug:
            return None
        with schema_context(settings.PUBLIC_SCHEMA_NAME):
            return Organization.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).filter(slug=slug).first()

    def get_list_display_links(self, request, list_display):
        # row links would open the public row with the same id, not the organization's
        return None if self._organization(request) else super().get_list_display_links(request, list_display)

    def changelist_view(self, request, extra_context=None):
        organization = self._organization(request)
        if organization is None:
            return super().changelist_view(request, extra_context)
        with schema_context(organization.schema_name):
            response = super().changelist_view(
                request, {**(extra_context or {}), "title": f"Audit log: {organization.name}"}
            )
            if hasattr(response, "render"):
                response.render()  # evaluate the queryset while the schema is still switched
        return response

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
