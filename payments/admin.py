"""Platform console views of payments are per tenant; org admins use /manage/. Read-only registrations
help the platform owner inspect a schema in a shell-less emergency."""

from django.contrib import admin

from payments.models import CallbackInbox, MpesaSettings, Transaction


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnly):
    list_display = ["id", "created_at", "amount", "status", "source", "mpesa_receipt", "user"]
    list_filter = ["status", "source"]
    search_fields = ["mpesa_receipt", "transaction_id", "checkout_request_id", "bill_ref_number"]


@admin.register(CallbackInbox)
class CallbackInboxAdmin(ReadOnly):
    list_display = ["id", "received_at", "kind", "natural_key", "state", "attempts"]
    list_filter = ["kind", "state"]


@admin.register(MpesaSettings)
class MpesaSettingsAdmin(ReadOnly):
    list_display = ["shortcode", "shortcode_type", "environment", "urls_registered_at"]
    exclude = list(MpesaSettings.SECRET_FIELDS) + ["callback_token"]
