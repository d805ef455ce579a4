"""Settings for bench/tenancy.py: the app settings plus a throwaway tenant app to migrate."""

from savegame.settings import *  # noqa: F403

TENANT_APPS = [*TENANT_APPS, "bench.benchapp"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench.benchapp"]  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

import os  # noqa: E402

if os.environ.get("BENCH_SMART_EXECUTOR"):  # bench/tenancy.py's baseline: django-tenants-smart-executor
    GET_EXECUTOR_FUNCTION = "django_tenants_smart_executor.load_executor"
