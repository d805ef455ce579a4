from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    verbose_name = "Member site"

    def ready(self):
        # The platform admin's Organization page edits branding and scoring with web's typed fields (issue 16
        # item 23); tenants, below web, receives the form instead of importing it.
        from tenants.admin import organization_change_form_install
        from web.forms import OrganizationAdminForm

        organization_change_form_install(OrganizationAdminForm)
