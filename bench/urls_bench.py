"""The organization URLconf plus /bench/bare: the floor a JSON endpoint pays for Django and our middleware."""

from django.http import JsonResponse
from django.urls import path

from savegame.urls_tenants import urlpatterns as tenant_patterns


def bare_json(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare", bare_json), *tenant_patterns]
