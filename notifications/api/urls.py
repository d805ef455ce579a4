"""notifications API routes, under /api/v1/ (no trailing slash required)."""

from django.urls import re_path

from notifications.api import views

urlpatterns = [
    re_path(r"^push-subscriptions/?$", views.PushSubscriptionsApi.as_view(), name="api-push-subscriptions"),
    re_path(r"^notification-preferences/?$", views.PreferencesApi.as_view(), name="api-notification-preferences"),
    re_path(r"^notifications/?$", views.NotificationListApi.as_view(), name="api-notifications"),
    re_path(r"^notification-templates/?$", views.TemplateListApi.as_view(), name="api-notification-templates"),
    re_path(r"^notification-templates/(?P<key>[a-z0-9_]+)/(?P<language>[a-z]{2})/?$",
            views.TemplateDetailApi.as_view(), name="api-notification-template"),
    re_path(r"^notification-templates/(?P<key>[a-z0-9_]+)/(?P<language>[a-z]{2})/preview/?$",
            views.TemplatePreviewApi.as_view(), name="api-notification-template-preview"),
    re_path(r"^sms-settings/?$", views.SmsSettingsApi.as_view(), name="api-sms-settings"),
    re_path(r"^broadcasts/preview/?$", views.BroadcastPreviewApi.as_view(), name="api-broadcast-preview"),
    re_path(r"^broadcasts/?$", views.BroadcastCreateApi.as_view(), name="api-broadcasts"),
    re_path(r"^broadcasts/(?P<pk>[0-9]+)/?$", views.BroadcastDetailApi.as_view(), name="api-broadcast"),
]
