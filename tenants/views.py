"""Platform pages: the public landing page, unknown hosts, suspended organizations."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from tenants.selectors import organization_list


def landing(request):
    return render(request, "tenants/landing.html", {"organizations_count": organization_list().count(),
                                                     "base_domain": settings.BASE_DOMAIN})


def unknown_host(request):
    host = request.get_host().split(":")[0] if request.META.get("HTTP_HOST") else ""
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"detail": f"No organization is served at {host}."}, status=404)
    return render(request, "tenants/unknown_host.html", {"host": host, "base_domain": settings.BASE_DOMAIN}, status=404)


def suspended(request):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        return JsonResponse({"detail": "This organization is suspended. Contact the platform owner."}, status=403)
    return render(request, "tenants/suspended.html", {"organization": request.tenant}, status=403)
