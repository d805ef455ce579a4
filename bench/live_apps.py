"""The two servers bench/live.py compares, each run as `uvicorn bench.live_apps:<name>`:

- `hub`: our live hub (live/hub.py) and our stream response, the Django permission check left out
  (the stream's member is the path's number; the check's cost and its 4-connection bound are
  measured by tests/live/test_load.py).
- `bare`: the issue's bare design: one Redis subscription, one asyncio.Queue per stream, each message
  forwarded as it came (no coalescing, no state, no caps).
"""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")

import django  # noqa: E402

from live.asgi import raise_open_files_limit  # noqa: E402  (also sets Django up)

django.setup()
raise_open_files_limit()

import redis.asyncio as aioredis  # noqa: E402
from django.conf import settings  # noqa: E402

from live import app as live_app  # noqa: E402
from live.hub import Stream  # noqa: E402

SCHEMA, BOARD = "bench_live", 1


class _Hub(live_app.LiveApp):
    """Our app with the permission check left out: `/s/<uid>` opens a stream of member <uid>."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        live_hub = await live_app.hub()
        stream = Stream(schema=SCHEMA, user_id=int(scope["path"].rsplit("/", 1)[1]), boards=(BOARD,))
        refused = await live_hub.open(stream)
        if refused:
            return await live_app._refuse(503 if refused == "process" else 429, refused)(scope, receive, send)
        await live_app.HubStream(live_hub=live_hub, stream=stream, seconds=3600,
                                 first=live_app._first_bytes())(scope, receive, send)


hub = _Hub()


class _Bare:
    def __init__(self):
        self.queues: set[asyncio.Queue] = set()
        self.task = None

    async def listen(self):
        client = aioredis.from_url(settings.REDIS_URL, decode_responses=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(f"sg:{SCHEMA}:lb:{BOARD}:events")
        async for message in pubsub.listen():
            for queue in self.queues:
                queue.put_nowait(message["data"])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.listen())
        queue: asyncio.Queue = asyncio.Queue()
        self.queues.add(queue)
        try:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            await send({"type": "http.response.body", "body": b"event: ready\ndata: {}\n\n", "more_body": True})
            while True:
                data = await queue.get()
                await send({"type": "http.response.body", "body": f"id: {data}\ndata: {data}\n\n".encode(),
                            "more_body": True})
        finally:
            self.queues.discard(queue)


bare = _Bare()
