from django.apps import AppConfig


class PlatformAnalyticsConfig(AppConfig):
    """Platform-level analytics in the public schema (a SHARED app, unlike `analytics`)."""

    name = "analytics.platform"
    label = "platform_analytics"
    verbose_name = "Platform analytics"
