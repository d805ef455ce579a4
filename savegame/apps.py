from django.apps import AppConfig


class SavegameOpsConfig(AppConfig):
    """The project package as an app only for start-up work: tracing (OTEL_ENABLED)."""

    name = "savegame"
    label = "savegame_ops"
    verbose_name = "SaveGame operations"

    def ready(self) -> None:
        from savegame.tracing import tracing_setup

        tracing_setup()
        _public_admin_only_public_models()


def _public_admin_only_public_models() -> None:
    """Django admin is mounted on the platform host only (savegame/urls_public.py), in the public schema:
    a model whose tables live only in tenant schemas (payments, the JWT blacklist) answered 500 there.
    Runs after admin's autodiscover (this app is listed last)."""
    from django.conf import settings
    from django.contrib import admin

    for model in list(admin.site._registry):
        if model._meta.app_config.name not in settings.SHARED_APPS:
            admin.site.unregister(model)
