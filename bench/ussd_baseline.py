"""The baseline for bench/ussd.py: a bare Django view that reads Africa's Talking's form and answers a
fixed `CON` screen (settings and URLconf in one module): no middleware, no routing, no Redis, no
queries -- the floor the real USSD callback is compared with."""

from django.http import HttpResponse
from django.urls import path

from savegame.settings import *  # noqa: F403

MIDDLEWARE: list = []
ROOT_URLCONF = "bench.ussd_baseline"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405


def baseline(request):
    fields = (request.POST.get("sessionId", ""), request.POST.get("phoneNumber", ""), request.POST.get("text", ""))
    return HttpResponse("CON Bench\n1. My savings & points\n2. My rank" if all(fields[:2]) else "END ?",
                        content_type="text/plain; charset=utf-8")


urlpatterns = [path("baseline", baseline)]
