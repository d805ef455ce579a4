"""payments API routes, under /api/v1/ (no trailing slash required)."""

from django.urls import re_path

from payments.api import views

urlpatterns = [
    re_path(r"^transactions/?$", views.TransactionListApi.as_view(), name="api-transactions"),
    re_path(r"^transactions/stk-push/?$", views.StkPushApi.as_view(), name="api-stk-push"),
    re_path(r"^transactions/(?P<pk>[0-9]+)/?$", views.TransactionDetailApi.as_view(), name="api-transaction"),
    re_path(r"^transactions/(?P<pk>[0-9]+)/assign/?$", views.TransactionAssignApi.as_view(), name="api-transaction-assign"),
    re_path(r"^transactions/(?P<pk>[0-9]+)/close/?$", views.TransactionCloseApi.as_view(), name="api-transaction-close"),
    re_path(r"^transactions/(?P<pk>[0-9]+)/reopen/?$", views.TransactionReopenApi.as_view(), name="api-transaction-reopen"),
    re_path(r"^transactions/(?P<pk>[0-9]+)/reverse/?$", views.TransactionReverseApi.as_view(), name="api-transaction-reverse"),
    re_path(r"^manual-deposits/?$", views.ManualDepositListApi.as_view(), name="api-manual-deposits"),
    re_path(r"^manual-deposits/(?P<pk>[0-9]+)/(?P<decision>approve|reject)/?$", views.ManualDepositDecisionApi.as_view(),
            name="api-manual-deposit-decision"),
    re_path(r"^payments/settings/?$", views.MpesaSettingsApi.as_view(), name="api-mpesa-settings"),
    re_path(r"^payments/settings/register-urls/?$", views.MpesaRegisterUrlsApi.as_view(), name="api-mpesa-register-urls"),
    re_path(r"^payments/settings/rotate-token/?$", views.MpesaRotateTokenApi.as_view(), name="api-mpesa-rotate-token"),
]
