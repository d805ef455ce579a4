"""ASGI entry point for one process serving everything (tests, a small single-process deploy).

The Procfile splits the tier: `web` (gunicorn, WSGI) serves pages, API and callbacks, and `live`
(`live.asgi`) serves only the stream paths. Here both run in one process: stream paths go to the
live app, the rest to Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
django_application = get_asgi_application()

from live.app import build, handles  # noqa: E402

live_application = build()


async def application(scope, receive, send):
    if scope["type"] == "http" and handles(scope["path"]):
        return await live_application(scope, receive, send)
    if scope["type"] == "lifespan":
        return await live_application(scope, receive, send)
    return await django_application(scope, receive, send)
