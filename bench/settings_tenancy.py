"""Settings for bench/tenancy.py: the app settings plus a throwaway tenant app to migrate."""

from savegame.settings import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "bench.benchapp"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.benchapp"]  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
