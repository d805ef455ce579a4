"""payments pages and Daraja callbacks on the organization host."""

from django.urls import path

from payments import hooks, views
from payments.watch.views import manage_findings
from payments.selectors import CALLBACK_PATHS

urlpatterns = [
    *[path(f"hooks/pay/<str:token>/{suffix}", hooks.daraja_callback, {"kind": kind}, name=f"daraja-{kind}")
      for kind, suffix in CALLBACK_PATHS.items()],
    path("transactions/", views.transaction_list, name="transaction-list"),
    path("save/", views.save_now, name="save-now"),
    path("save/status/<int:pk>", views.save_status, name="save-status"),
    path("manage/transactions/", views.manage_transactions, name="manage-transactions"),
    path("manage/transactions/record/", views.manage_manual_deposits, name="manage-manual-deposits"),
    path("manage/unmatched/", views.manage_unmatched, name="manage-unmatched"),
    path("manage/mpesa/", views.manage_mpesa, name="manage-mpesa"),
    path("manage/watch/", manage_findings, name="manage-findings"),
]
