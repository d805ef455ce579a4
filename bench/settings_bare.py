"""The bare baseline of bench/web.py: the bench settings with no middleware at all and one URL
(/bench/bare, the same view bench/urls_bench.py serves behind our middleware)."""

from bench.settings_bench import *  # noqa: F403

MIDDLEWARE = []
ROOT_URLCONF = "bench.urls_bare"
PUBLIC_SCHEMA_URLCONF = "bench.urls_bare"
