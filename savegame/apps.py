from django.apps import AppConfig


class SavegameOpsConfig(AppConfig):
    """The project package as an app only for start-up work: tracing (OTEL_ENABLED)."""

    name = "savegame"
    label = "savegame_ops"
    verbose_name = "SaveGame operations"

    def ready(self) -> None:
        from savegame.tracing import tracing_setup

        tracing_setup()
