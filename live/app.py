"""The live process's ASGI app: the stream paths only, everything else is the web tier's.

Plain ASGI, no framework: a stream is its socket and a small object the hub writes to.

Routes (the proxy sends exactly these paths to the `live` process, docs/DEPLOYMENT.md):
- `/challenges/<id>/leaderboard/stream[?team=<id>]` (a team's own board with `team`): `scores` events (top N and count: the same bytes for every
  viewer, coalesced per board) and `me` events (the viewer's own rank line, sent when it moved).
- `/live/notifications`: the member's own notices (a new badge, a confirmed deposit, a broadcast)
  and their home tiles (`tiles`: points, rank, streak).

A stream is answered 401 (not signed in), 404 (no such challenge for this member), 429 with
Retry-After (this member already holds LIVE_STREAMS_PER_USER streams) or 503 with Retry-After (this
process holds LIVE_MAX_STREAMS). It starts with `retry`, a `ready` event and the current state, so a
reconnect needs no replay; an unchanged board (Last-Event-ID equal to its version) is not resent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from redis.exceptions import RedisError

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


def _refuse(status: int, text: str, retry_after: int | None = None) -> "Refusal":
    return Refusal(status, text, retry_after)


class Refusal:
    """A short plain-text answer (401, 403, 404, 429, 503 with Retry-After)."""

    def __init__(self, status: int, text: str, retry_after: int | None = None):
        self.status_code, self.text, self.retry_after = status, text, retry_after

    async def __call__(self, scope, receive, send, extra=()):
        body = self.text.encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                   *extra]
        if self.retry_after is not None:
            headers.append((b"retry-after", str(self.retry_after).encode()))
        await send({"type": "http.response.start", "status": self.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


_STREAM_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
                   (b"x-accel-buffering", b"no")]


class HubStream:
    """An open stream's response: headers, the first bytes, then whatever the hub writes to it.

    The handler itself only waits for the client to leave (`http.disconnect`, which the server also
    reports once the hub has ended the response at its deadline); the hub writes every event straight
    to `send` (live/hub.py, Stream.write), so a stream costs no task, queue or timer of its own."""

    def __init__(self, *, live_hub: Hub, stream: Stream, seconds: float, first: bytes):
        self.live_hub, self.stream, self.seconds, self.first = live_hub, stream, seconds, first

    async def __call__(self, scope, receive, send, extra=()):
        try:
            await send({"type": "http.response.start", "status": 200, "headers": [*_STREAM_HEADERS, *extra]})
            self.live_hub.attach(self.stream, send, self.first, self.seconds)
            while (await receive())["type"] != "http.disconnect":
                pass
        except asyncio.CancelledError:
            pass  # the server's shutdown: the response is ended below, the task is over either way
        finally:
            # The server shutting down (uvicorn's --timeout-graceful-shutdown cancels us): end the
            # response cleanly, so the browser reconnects (to another process) instead of seeing a cut.
            if not self.stream.ended:
                self.stream.end()
            await self.live_hub.close(self.stream)


def _hostname(headers: dict) -> str:
    return (headers.get("host") or "").rsplit(":", 1)[0].lower()


def _cross_host(headers: dict) -> bool:
    """A browser sending an Origin whose host is not this host (another organization's page)."""
    origin = headers.get("origin")
    return bool(origin) and (urlsplit(origin).hostname or "").lower() != _hostname(headers)


BIGINT_MAX = 2**63 - 1


def _seconds(query: dict) -> float | None:
    """How long this stream stays open: ?seconds= (a positive, finite number), capped; None for junk (a 400)."""
    longest = settings.LIVE_STREAM_SECONDS
    raw = query.get("seconds")
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


def _first_bytes() -> bytes:
    return f"retry: {settings.LIVE_RETRY_MS}\nevent: ready\ndata: {{}}\n\n".encode()


async def _serve(headers: dict, query: dict, *, challenge_id: int | None):
    if _cross_host(headers):
        return _refuse(403, "Cross-site stream refused.")
    seconds = _seconds(query)
    if seconds is None:  # junk is the caller's mistake, named: never a 500 (docs/SECURITY.md, item 5)
        return _refuse(400, "seconds: must be a positive number of seconds.")
    if challenge_id is not None and challenge_id > BIGINT_MAX:  # no such id; the lookup would overflow
        return _refuse(404, "Not found.")
    team_id = query.get("team")
    if team_id is not None:
        if challenge_id is None or not team_id.isdigit() or int(team_id) > BIGINT_MAX:
            return _refuse(400, "team: must be the id of a team in this challenge.")
        team_id = int(team_id)
    session_key = _cookie(headers.get("cookie", ""), settings.SESSION_COOKIE_NAME)
    try:
        allowed = await access.stream_access_cached(hostname=_hostname(headers), session_key=session_key,
                                                    challenge_id=challenge_id, team_id=team_id)
    except Exception:  # noqa: BLE001 - the database is away: the page polls meanwhile
        logger.exception("live: stream permission check failed")
        return _refuse(503, "Live updates are unavailable.", settings.LIVE_RETRY_AFTER_SECONDS)
    if allowed.status != 200:
        return _refuse(allowed.status, {401: "Sign in first.", 400: "team: no such team in this challenge."}
                       .get(allowed.status, "Not found."))
    live_hub = await hub()
    stream = Stream(schema=allowed.schema, user_id=allowed.user_id,
                    boards=(challenge_id,) if challenge_id is not None else (), notices=challenge_id is None,
                    last_event_id=headers.get("last-event-id"), team=team_id)
    try:
        refused = await live_hub.open(stream)
    except (RedisError, OSError):
        logger.warning("live: stream lease unavailable", exc_info=True)
        return _refuse(503, "Live updates are unavailable.", settings.LIVE_RETRY_AFTER_SECONDS)
    if refused == "process":
        return _refuse(503, "This server is full; try again shortly.", settings.LIVE_RETRY_AFTER_SECONDS)
    if refused == "user":
        return _refuse(429, "Too many live pages open.", settings.LIVE_RETRY_AFTER_SECONDS)
    # The board's state follows `ready` through the stream itself (newcomers share one read per board).
    first = _first_bytes()
    if challenge_id is None:
        try:
            first += (await live_hub.tiles_event(allowed.schema, allowed.user_id)).encode()
        except Exception:  # noqa: BLE001 - the tiles come with the next change; the page shows its own
            logger.warning("live: tiles unavailable", exc_info=True)
    return HubStream(live_hub=live_hub, stream=stream, seconds=seconds, first=first)


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


class LiveApp:
    """The live process's ASGI app: the two stream paths, lifespan, and (dev) CORS for another port."""

    def __init__(self):
        self.cors = re.compile(settings.LIVE_CORS_ORIGIN_REGEX) if settings.LIVE_CORS_ORIGIN_REGEX else None

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] != "http":
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        extra = []
        origin = headers.get("origin")
        if self.cors is not None and origin and self.cors.match(origin):
            extra = [(b"access-control-allow-origin", origin.encode("latin-1")),
                     (b"access-control-allow-credentials", b"true"), (b"vary", b"Origin")]
        path, method = scope["path"], scope["method"]
        match = BOARD_PATH.match(path)
        if match is None and path != "/live/notifications":
            return await Refusal(404, "Not Found")(scope, receive, send, extra)
        if method == "OPTIONS" and extra:
            extra += [(b"access-control-allow-methods", b"GET"),
                      (b"access-control-allow-headers", b"Last-Event-ID, Cache-Control")]
            return await Refusal(200, "OK")(scope, receive, send, extra)
        if method not in ("GET", "HEAD"):
            return await Refusal(405, "Method Not Allowed")(scope, receive, send, extra)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        response = await _serve(headers, query, challenge_id=int(match.group(1)) if match else None)
        await response(scope, receive, send, extra)

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await hub()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await hub_stop()
                await asyncio.to_thread(access.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return


BOARD_PATH = re.compile(r"^/challenges/(\d+)/leaderboard/stream$")


def build() -> LiveApp:
    return LiveApp()
