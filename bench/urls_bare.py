"""Only /bench/bare: the floor of a Django JSON view (bench/settings_bare.py, no middleware)."""

from django.urls import path

from bench.urls_bench import bare_json

urlpatterns = [path("bench/bare", bare_json)]
