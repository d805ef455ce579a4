"""The live process's ASGI app (Starlette): the stream paths only, everything else is the web tier's.

Routes (the proxy sends exactly these paths to the `live` process, docs/DEPLOYMENT.md):
- `/challenges/<id>/leaderboard/stream`: `scores` events (top N + "me", coalesced per board).
- `/live/notifications`: the member's own notices (a new badge, a confirmed deposit, a broadcast)
  and their home tiles (`tiles`: points, rank, streak).

A stream is answered 401 (not signed in), 404 (no such challenge for this member), 429 with
Retry-After (this member already holds LIVE_STREAMS_PER_USER streams) or 503 with Retry-After (this
process holds LIVE_MAX_STREAMS). It starts with `retry`, a `ready` event and the current state, so a
reconnect needs no replay; an unchanged board (Last-Event-ID equal to its version) is not resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
from urllib.parse import urlsplit

from django.conf import settings
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from live import access
from live.hub import Hub, Stream

logger = logging.getLogger(__name__)

STREAM_PATHS = re.compile(r"^/(challenges/\d+/leaderboard/stream|live/notifications)$")

_hub: Hub | None = None
_hub_lock: asyncio.Lock | None = None
_hub_loop: asyncio.AbstractEventLoop | None = None


def handles(path: str) -> bool:
    """Is this path served by the live app (for the one-process router in savegame.asgi)?"""
    return bool(STREAM_PATHS.match(path))


async def hub() -> Hub:
    """This process's hub, started on first use (so it also runs under servers without lifespan).

    A hub belongs to the event loop that started it (its Redis connections and tasks live there):
    a server started later on another loop in the same process (tests, a reloader) gets its own."""
    global _hub, _hub_lock, _hub_loop
    loop = asyncio.get_running_loop()
    if _hub_loop is not loop:
        _hub, _hub_lock, _hub_loop = None, None, loop
    if _hub is not None:
        return _hub
    if _hub_lock is None:
        _hub_lock = asyncio.Lock()
    async with _hub_lock:
        if _hub is None:
            started = Hub()
            await started.start()
            _hub = started
    return _hub


async def hub_stop() -> None:
    global _hub, _hub_lock, _hub_loop
    if _hub is not None and _hub_loop is asyncio.get_running_loop():
        await _hub.stop()
    _hub, _hub_lock, _hub_loop = None, None, None


class HubStreamResponse(StreamingResponse):
    """A stream response that always gives its place back, however the connection ends."""

    def __init__(self, content, *, live_hub: Hub, stream: Stream):
        super().__init__(content, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.live_hub, self.stream = live_hub, stream

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.live_hub.close(self.stream)


def _refuse(status: int, text: str, retry_after: int | None = None) -> PlainTextResponse:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return PlainTextResponse(text, status_code=status, headers=headers)


def _hostname(request: Request) -> str:
    return (request.headers.get("host") or "").rsplit(":", 1)[0].lower()


def _cross_host(request: Request) -> bool:
    """A browser sending an Origin whose host is not this host (another organization's page)."""
    origin = request.headers.get("origin")
    return bool(origin) and (urlsplit(origin).hostname or "").lower() != _hostname(request)


BIGINT_MAX = 2**63 - 1


def _seconds(request: Request) -> float | None:
    """How long this stream stays open: ?seconds= (a positive, finite number), capped; None for junk (a 400)."""
    longest = settings.LIVE_STREAM_SECONDS
    raw = request.query_params.get("seconds")
    if raw is None:
        asked = longest
    else:
        try:
            asked = float(raw)
        except ValueError:
            return None
        if not math.isfinite(asked) or asked <= 0:
            return None
    # Streams end a little apart, so the reconnects of a crowd that opened together spread out.
    return max(0.1, min(asked, longest * random.uniform(0.9, 1.0)))


async def _events(live_hub: Hub, stream: Stream, seconds: float, first: str):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    yield f"retry: {settings.LIVE_RETRY_MS}\nevent: ready\ndata: {{}}\n\n" + first
    while True:
        if stream.wake.is_set():
            chunk = stream.take()
            if chunk:
                yield chunk
                continue
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            async with asyncio.timeout(min(settings.LIVE_HEARTBEAT_SECONDS, remaining)):
                await stream.wake.wait()
        except TimeoutError:
            if deadline - loop.time() > 0:
                yield ": hb\n\n"


async def _serve(request: Request, *, challenge_id: int | None) -> PlainTextResponse | HubStreamResponse:
    if _cross_host(request):
        return _refuse(403, "Cross-site stream refused.")
    seconds = _seconds(request)
    if seconds is None:  # junk is the caller's mistake, named: never a 500 (docs/SECURITY.md, item 5)
        return _refuse(400, "seconds: must be a positive number of seconds.")
    if challenge_id is not None and challenge_id > BIGINT_MAX:  # no such id; the lookup would overflow
        return _refuse(404, "Not found.")
    session_key = request.cookies.get(settings.SESSION_COOKIE_NAME, "")
    try:
        allowed = await access.stream_access_cached(hostname=_hostname(request), session_key=session_key,
                                                    challenge_id=challenge_id)
    except Exception:  # noqa: BLE001 - the database is away: the page polls meanwhile
        logger.exception("live: stream permission check failed")
        return _refuse(503, "Live updates are unavailable.", settings.LIVE_RETRY_AFTER_SECONDS)
    if allowed.status != 200:
        return _refuse(allowed.status, "Sign in first." if allowed.status == 401 else "Not found.")
    live_hub = await hub()
    stream = Stream(schema=allowed.schema, user_id=allowed.user_id,
                    boards=(challenge_id,) if challenge_id is not None else (), notices=challenge_id is None,
                    last_event_id=request.headers.get("last-event-id"))
    try:
        refused = await live_hub.open(stream)
    except (RedisError, OSError):
        logger.warning("live: stream lease unavailable", exc_info=True)
        return _refuse(503, "Live updates are unavailable.", settings.LIVE_RETRY_AFTER_SECONDS)
    if refused == "process":
        return _refuse(503, "This server is full; try again shortly.", settings.LIVE_RETRY_AFTER_SECONDS)
    if refused == "user":
        return _refuse(429, "Too many live pages open.", settings.LIVE_RETRY_AFTER_SECONDS)
    # The current state follows `ready` through the stream itself (newcomers share one read per board).
    first = ""
    if challenge_id is None:
        with contextlib.suppress(RedisError, OSError):
            first = await live_hub.tiles_event(allowed.schema, allowed.user_id)
    return HubStreamResponse(_events(live_hub, stream, seconds, first), live_hub=live_hub, stream=stream)


async def leaderboard_stream(request: Request):
    return await _serve(request, challenge_id=int(request.path_params["pk"]))


async def notifications_stream(request: Request):
    return await _serve(request, challenge_id=None)


@contextlib.asynccontextmanager
async def lifespan(app):
    await hub()
    try:
        yield
    finally:
        await hub_stop()
        await asyncio.to_thread(access.shutdown)


def _middleware() -> list[Middleware]:
    if not settings.LIVE_CORS_ORIGIN_REGEX:
        return []
    # Dev (`make run`): pages on :PORT, streams on :LIVE_PORT of the same host, so the browser sends a
    # credentialed cross-origin EventSource. The endpoint refuses an Origin of another host anyway.
    return [Middleware(CORSMiddleware, allow_origin_regex=settings.LIVE_CORS_ORIGIN_REGEX, allow_credentials=True,
                       allow_methods=["GET"], allow_headers=["Last-Event-ID", "Cache-Control"])]


def build() -> Starlette:
    return Starlette(routes=[
        Route("/challenges/{pk:int}/leaderboard/stream", leaderboard_stream),
        Route("/live/notifications", notifications_stream),
    ], middleware=_middleware(), lifespan=lifespan)
