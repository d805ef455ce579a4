"""ASGI entry point: live leaderboard streams (SSE) need an async server (uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
application = get_asgi_application()
