"""The platform owner's console: organizations, domains, the badge catalogue."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from accounts.phone import normalize_phone
from tenants import services
from tenants.models import Domain, Organization
from tenants.selectors import organization_base_url

admin.site.site_header = "SaveGame platform"
admin.site.site_title = "SaveGame platform"
admin.site.index_title = "Organizations and platform settings"


class OrganizationCreateForm(forms.ModelForm):
    admin_phone = forms.CharField(label="First admin's phone", help_text="e.g. 0712 345 678")
    admin_name = forms.CharField(label="First admin's name", required=False)
    extra_domains = forms.CharField(
        label="Custom domains", required=False, help_text="Optional, comma-separated (e.g. save.umoja.co.ke)."
    )
    shortcode = forms.CharField(label="M-Pesa Paybill / Till", required=False)

    class Meta:
        model = Organization
        fields = ["name", "slug", "type", "subscription_tier"]

    def clean_admin_phone(self):
        try:
            return normalize_phone(self.cleaned_data["admin_phone"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0]) from None


# The change page's form: web installs its typed branding and scoring fields at start-up (web.forms,
# OrganizationAdminForm; tenants sits below web and cannot import it). Without it the JSON is edited raw.
_change_form: type[forms.ModelForm] | None = None


def organization_change_form_install(form: type[forms.ModelForm]) -> None:
    global _change_form
    _change_form = form


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]


def _actor(request) -> str:
    return f"platform:{request.user.phone_number}"


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "type", "subscription_tier", "status_badge", "members", "last_activity",
                    "site_link", "dashboard_link", "created_at"]
    list_per_page = 50
    list_filter = ["type", "subscription_tier", "subscription_status", "created_at"]
    search_fields = ["name", "slug", "domains__domain"]
    readonly_fields = ["schema_name", "created_at", "updated_at", "site_link", "dashboard_link", "members",
                       "last_activity", "rolled_up_through"]
    actions = ["suspend", "reactivate"]

    class Media:
        css = {"all": ["css/admin.css"]}

    fieldsets = (
        (None, {"fields": ("name", "slug", "type", "site_link", "dashboard_link")}),
        ("Status", {"fields": ("members", "last_activity", "rolled_up_through")}),
        ("Subscription", {"fields": ("subscription_tier", "subscription_status")}),
        ("Branding and locale", {"fields": ("branding", "logo", "time_zone", "open_signup")}),
        ("Scoring rules", {"fields": ("scoring",)}),
        ("Feature phones (USSD and SMS)", {"fields": ("ussd_service_code", "sms_shortcode")}),
        ("System", {"fields": ("schema_name", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        # Members and last activity come from the summary row each organization's rollup job publishes
        # (analytics.platform.OrganizationStats, the `stats` relation): no page joins tenant schemas.
        return (super().get_queryset(request).exclude(schema_name="public").select_related("stats")
                .prefetch_related("domains"))

    @staticmethod
    def _stats(obj):
        return getattr(obj, "stats", None) if obj is not None and obj.pk else None

    @admin.display(description="Members")
    def members(self, obj):
        stats = self._stats(obj)
        return stats.members if stats else "-"

    @admin.display(description="Last activity")
    def last_activity(self, obj):
        stats = self._stats(obj)
        return stats.last_activity_on if stats and stats.last_activity_on else "never"

    @admin.display(description="Figures as of")
    def rolled_up_through(self, obj):
        stats = self._stats(obj)
        return stats.rolled_up_through if stats and stats.rolled_up_through else "not rolled up yet"

    @admin.display(description="Leader dashboard")
    def dashboard_link(self, obj):
        if not obj or not obj.pk:
            return "-"
        return format_html('<a href="{}/manage/" target="_blank" rel="noopener">open</a>', organization_base_url(obj))

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        # The platform's own row (public schema) exists once and is not listed here: never offer its type.
        if db_field.name == "type":
            kwargs["choices"] = [c for c in db_field.choices if c[0] != Organization.Type.PLATFORM]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("name",)} if obj is None else {}  # the slug is read-only once created

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = OrganizationCreateForm
            kwargs["fields"] = None
        elif _change_form is not None:
            kwargs["form"] = _change_form  # its fields: the fieldsets below, typed names for the JSON
        return super().get_form(request, obj, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("name", "slug", "type", "subscription_tier", "admin_phone", "admin_name",
                                       "extra_domains", "shortcode")}),)
        if _change_form is None:
            return super().get_fieldsets(request, obj)
        typed = {"branding": _change_form.BRANDING_FIELDS, "scoring": _change_form.SCORING_FIELDS}
        return tuple((title, {**options, "fields": tuple(name for field in options["fields"]
                                                          for name in typed.get(field, (field,)))})
                     for title, options in self.fieldsets)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*self.readonly_fields, "slug"]

    def get_inlines(self, request, obj):
        return [DomainInline] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in services.ORGANIZATION_EDITABLE_FIELDS}
            settings_save = getattr(form, "settings_save", None)  # the typed branding, scoring and logo
            if "logo" in form.changed_data and settings_save is None:
                obj.save(update_fields=["logo", "updated_at"])
            fresh = Organization.objects.get(pk=obj.pk)
            fresh = services.organization_update(organization=fresh, data=data, actor_label=_actor(request))
            if settings_save is not None:
                settings_save(organization=fresh, actor_label=_actor(request))
            return
        domains = [d.strip() for d in form.cleaned_data.get("extra_domains", "").split(",") if d.strip()]
        created = services.organization_create(
            slug=form.cleaned_data["slug"], name=form.cleaned_data["name"], type=form.cleaned_data["type"],
            admin_phone=form.cleaned_data["admin_phone"], admin_name=form.cleaned_data.get("admin_name", ""),
            domains=domains, shortcode=form.cleaned_data.get("shortcode", ""), actor_label=_actor(request),
        )
        if form.cleaned_data.get("subscription_tier"):
            services.organization_update(organization=created, data={"subscription_tier": form.cleaned_data["subscription_tier"]},
                                         actor_label=_actor(request))
        obj.pk = created.pk
        obj.schema_name = created.schema_name
        obj._state.adding = False
        messages.info(request, format_html("Open the new site: <a href='{0}'>{0}</a>", organization_base_url(created)))

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        removed = [d.domain for d in getattr(formset, "deleted_objects", []) if isinstance(d, Domain)]
        services.organization_cache_clear(organization=form.instance, removed_domains=removed)

    @admin.display(description="Status", ordering="subscription_status")
    def status_badge(self, obj):
        # A class, not style="": the admin runs under the same Content-Security-Policy (static/css/admin.css).
        return format_html('<strong class="sg-status sg-status-{}">{}</strong>', obj.subscription_status,
                           obj.get_subscription_status_display())

    @admin.display(description="Site")
    def site_link(self, obj):
        if not obj or not obj.pk:
            return "-"
        url = organization_base_url(obj)
        return format_html('<a href="{0}/" target="_blank" rel="noopener">{0}</a>', url)

    @admin.action(description="Suspend the selected organizations")
    def suspend(self, request, queryset):
        for org in queryset:
            services.organization_suspend(organization=org, actor_label=_actor(request))
        self.message_user(request, f"Suspended {queryset.count()} organization(s).")

    @admin.action(description="Reactivate the selected organizations")
    def reactivate(self, request, queryset):
        for org in queryset:
            services.organization_reactivate(organization=org, actor_label=_actor(request))
        self.message_user(request, f"Reactivated {queryset.count()} organization(s).")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary", "created_at"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name"]
