"""The baseline for bench/callbacks.py: a bare Django view doing one INSERT ... ON CONFLICT of the payload.

Used as DJANGO_SETTINGS_MODULE (settings and URLconf in one module): no middleware, no tenant routing,
no authentication, no broker: the floor our real callback path is compared with.
"""

import json

from django.db import connection
from django.http import JsonResponse
from django.urls import path

from savegame.settings import *  # noqa: F403

MIDDLEWARE: list = []
ROOT_URLCONF = "bench.callbacks_baseline"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

TABLE = "bench_callback_baseline"


def baseline(request):
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (trans_id, payload) VALUES (%s, %s::jsonb) ON CONFLICT (trans_id) DO NOTHING",
                       [body["TransID"], request.body.decode()])
    return JsonResponse({"ResultCode": 0, "ResultDesc": "Accepted"})


urlpatterns = [path("baseline", baseline)]
