"""notifications pages on the organization host."""

from django.urls import path

from notifications import views

urlpatterns = [
    path("manage/notifications/", views.manage_notifications, name="manage-notifications"),
    path("n/<int:pk>/", views.notification_open, name="notification-open"),
    path("hooks/sms/<str:token>/delivery", views.delivery_report, name="sms-delivery-report"),
]
