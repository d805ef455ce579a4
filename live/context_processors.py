"""`live_origin` for templates: where the page opens its streams ("" = this origin, routed to `live`)."""

from __future__ import annotations

from django.conf import settings


def live(request) -> dict:
    if not settings.LIVE_PORT:
        return {"live_origin": ""}
    # Dev (`make run`): the live process listens on LIVE_PORT of the same host.
    host = request.get_host().rsplit(":", 1)[0]
    return {"live_origin": f"{request.scheme}://{host}:{settings.LIVE_PORT}"}
