"""The live hub: one Redis pattern subscription per process, fanned out to in-process streams.

A stream is a small object with a wake-up event, the latest state per board it watches and a short
queue of notices; the hub owns the only pub/sub connection and a small pool for reads. Leaderboard
changes are coalesced per board: at most one `scores` event per `LIVE_COALESCE_SECONDS` (0.5 s),
always carrying the state read after the latest change (top N shared by every viewer, plus each
viewer's own rank, read for all of them in one script call per 1,000 viewers).

Caps: at most `LIVE_STREAMS_PER_USER` open streams per member across every process (a sorted set
per member in Redis whose entries are leases renewed by their process; a dead process's leases
lapse after `LIVE_LEASE_SECONDS`), and `LIVE_MAX_STREAMS` per process.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import uuid
from decimal import Decimal

import redis.asyncio as aioredis
from django.conf import settings
from redis.exceptions import RedisError

from challenges import leaderboard
from notifications.live import user_channel
from savegame import metrics

logger = logging.getLogger(__name__)

# Channels the hub listens to: every organization's leaderboard events and member notices.
BOARD_PATTERN = "sg:*:lb:*:events"
USER_PATTERN = "sg:*:live:user:*"

_LEASE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

_RENEW = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', ms + tonumber(ARGV[1]), ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
"""

# Top N (shared) and, for each viewer on the board, member / rank / score / score of the rank above /
# name; one JSON string back (parsed in C on our side: a reply of 10,000 rows of 5 strings each through
# redis-py's pure-Python parser cost more than the whole fan-out).
_STATE = """
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local total = redis.call('ZCARD', KEYS[1])
local ids = {}
for i = 1, #top, 2 do ids[#ids + 1] = string.match(top[i], '([^:]+)$') end
local names = {}
if #ids > 0 then names = redis.call('HMGET', KEYS[4], unpack(ids)) end
for i = 1, #names do if not names[i] then names[i] = '' end end
local mes = {}
for j = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[2], ARGV[j])
  if cur then
    local member = string.sub(cur, string.find(cur, '|', 1, true) + 1)
    local rank = redis.call('ZREVRANK', KEYS[1], member)
    if rank then
      local above = ''
      if rank > 0 then above = redis.call('ZREVRANGE', KEYS[1], rank - 1, rank - 1, 'WITHSCORES')[2] end
      mes[ARGV[j]] = {member, tostring(rank), redis.call('ZSCORE', KEYS[1], member), above,
                      redis.call('HGET', KEYS[4], ARGV[j]) or ''}
    end
  end
end
mes['_'] = 0  -- never an empty table (cjson would write [] or {} either way)
return cjson.encode({top = top, total = total, names = names, mes = mes,
                     version = redis.call('GET', KEYS[5]) or '0'})
"""

VIEWERS_PER_READ = 1000
NOTICES_KEPT = 50  # per stream, while its socket is slow


def board_topic(schema: str, challenge_id: int) -> str:
    return leaderboard.channel(challenge_id, schema=schema)


def feed_key(schema: str, challenge_id: int, team_id: int | None = None) -> str:
    """A board's feed: the challenge's channel, with the team for a team's own board."""
    topic = board_topic(schema, challenge_id)
    return topic if team_id is None else f"{topic}|team:{team_id}"


def user_topic(schema: str, user_id: int) -> str:
    return user_channel(schema, user_id)


def lease_key(schema: str, user_id: int) -> str:
    return f"sg:{schema}:live:streams:{user_id}"


def sse(event: str, data: str, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


HEARTBEAT = b": hb\n\n"
NO_ME = b"event: me\ndata: null\n\n"
_NO_ROW = ("", "", "", "", "")


class _Rest:
    """The rest of a `send` coroutine that suspended (the socket's buffer was full), as an awaitable a
    task can run: the fan-out drives each write synchronously and only a slow socket costs a task."""

    __slots__ = ("coro", "first")

    def __init__(self, coro, first):
        self.coro, self.first = coro, first

    def __await__(self):
        coro, value = self.coro, self.first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: BLE001 - thrown into the suspended send, as a task would
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _resume(rest: _Rest):
    return await rest


class Stream:
    """One open SSE response: what it watches and how to write to its socket.

    No task, queue or timer of its own: the hub writes the (shared) bytes of each event straight to
    the response's ASGI `send`, which completes at once unless the socket is slow; only then does a
    write become a task, and what arrives meanwhile waits in `backlog` (the latest state per board,
    the last NOTICES_KEPT notices)."""

    __slots__ = ("schema", "user_id", "boards", "team", "notices", "key", "leased", "last_event_id", "send", "busy",
                 "backlog", "mine", "written", "ended", "deadline", "__weakref__")

    def __init__(self, schema: str, user_id: int, boards: tuple[int, ...] = (), notices: bool = False,
                 last_event_id: str | None = None, team: int | None = None):
        self.schema, self.user_id, self.boards, self.notices = schema, user_id, tuple(boards), notices
        self.team = team  # the boards' team board instead (group challenges)
        self.key = uuid.uuid4().hex
        self.leased = False
        self.last_event_id = last_event_id  # the client's Last-Event-ID: an unchanged board is not resent
        self.send = None  # the response's ASGI send, once its headers are out
        self.busy = False
        self.backlog: list | None = None
        self.mine: dict | None = None  # board topic -> the "me" row last written
        self.written = False  # since the last heartbeat sweep
        self.ended = False
        self.deadline = None  # a TimerHandle ending the response

    @property
    def topics(self) -> list[str]:
        topics = [feed_key(self.schema, cid, self.team) for cid in self.boards]
        if self.notices:
            topics.append(user_topic(self.schema, self.user_id))
        return topics

    def write(self, data: bytes, *, topic: str | None = None, last: bool = False) -> None:
        """Write bytes to the socket now; a state event (`topic`) replaces an older one still waiting."""
        if self.ended or self.send is None:
            return
        if self.busy:
            backlog = self.backlog if self.backlog is not None else []
            if topic is not None:
                backlog = [item for item in backlog if item[0] != topic]
            elif sum(1 for item in backlog if item[0] is None) >= NOTICES_KEPT:
                backlog.pop(next(i for i, item in enumerate(backlog) if item[0] is None))
            backlog.append((topic, data, last))
            self.backlog = backlog
            return
        self.written = True
        if last:
            self.ended = True
        coro = self.send({"type": "http.response.body", "body": data, "more_body": not last})
        try:
            waiting = coro.send(None)
        except StopIteration:
            return
        except Exception:  # noqa: BLE001 - the connection is gone; its handler closes the stream
            self.ended = True
            return
        self.busy = True
        task = asyncio.get_running_loop().create_task(_resume(_Rest(coro, waiting)))
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task) -> None:
        self.busy = False
        if task.cancelled() or task.exception() is not None:
            self.ended = True
            return
        backlog, self.backlog = self.backlog, None
        if backlog:
            self.write(b"".join(data for _, data, _ in backlog), last=any(last for _, _, last in backlog))

    def end(self) -> None:
        """Finish the response (its handler then sees the disconnect and closes the stream)."""
        self.write(b"", last=True)


class Batcher:
    """Concurrent calls grouped into batches: one Redis pipeline (one connection, one round trip) per
    batch, so a crowd connecting at once never queues for the connection pool."""

    def __init__(self, run_batch, limit: int = 500):
        self.run_batch, self.limit = run_batch, limit
        self.pending: list[tuple[object, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def submit(self, item):
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((item, future))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:self.limit], self.pending[self.limit:]
            try:
                results = await self.run_batch([item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)


class BoardFeed:
    """The viewers of one leaderboard, and its coalescing flush.

    A change costs one Redis script call per VIEWERS_PER_READ distinct viewers, one JSON body for the
    top N (the same bytes written to every viewer) and a `me` event only for the viewers whose own
    line (rank, score, gap) moved."""

    def __init__(self, hub: Hub, schema: str, challenge_id: int, team_id: int | None = None):
        self.hub, self.schema, self.challenge_id, self.team_id = hub, schema, challenge_id, team_id
        self.topic = feed_key(schema, challenge_id, team_id)
        self.streams: set[Stream] = set()
        self.last_sent = float("-inf")
        self.again = False
        self.task: asyncio.Task | None = None
        self.newcomers: set[Stream] = set()
        self.welcome_task: asyncio.Task | None = None

    def welcome(self, stream: Stream) -> None:
        """Send a new viewer the current state soon; newcomers of the same moment share one read."""
        self.newcomers.add(stream)
        if self.welcome_task is None or self.welcome_task.done():
            self.welcome_task = asyncio.get_running_loop().create_task(self._welcome())

    async def _welcome(self) -> None:
        while self.newcomers:
            await asyncio.sleep(0)  # let the rest of this moment's crowd arrive
            streams = [s for s in self.newcomers if s in self.streams]
            self.newcomers = set()
            if not streams:
                continue
            try:
                version, scores, rows = await self.hub.board_state(self.schema, self.challenge_id,
                                                                   {s.user_id for s in streams}, self.team_id)
            except (RedisError, OSError, LookupError):
                logger.warning("live: leaderboard state unavailable", extra={"challenge": self.challenge_id})
                continue  # the page keeps what it rendered; the next change brings the state
            for stream in streams:
                if stream.last_event_id == version:
                    continue
                row = rows.get(stream.user_id, _NO_ROW)
                if stream.mine is None:
                    stream.mine = {}
                stream.mine[self.topic] = row
                stream.write(scores + _me_event(stream.user_id, row), topic=self.topic)

    def changed(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._flush())
        else:
            self.again = True

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            wait = self.last_sent + self.hub.coalesce - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.again = False
            self.last_sent = loop.time()
            if self.streams:
                try:
                    _version, scores, rows = await self.hub.board_state(
                        self.schema, self.challenge_id, {s.user_id for s in self.streams}, self.team_id)
                except (RedisError, OSError, LookupError):
                    logger.warning("live: leaderboard state unavailable", extra={"challenge": self.challenge_id})
                else:
                    self.fan_out(scores, rows)
            if not self.again:
                return

    def fan_out(self, scores: bytes, rows: dict[int, tuple]) -> None:
        topic, events = self.topic, {}
        for stream in list(self.streams):
            row = rows.get(stream.user_id, _NO_ROW)
            mine = stream.mine
            if mine is None:
                mine = stream.mine = {}
            if mine.get(topic) == row and not stream.busy:  # a waiting write may hold an older "me"
                stream.write(scores, topic=topic)
                continue
            mine[topic] = row
            event = events.get(stream.user_id)
            if event is None:
                event = events[stream.user_id] = scores + _me_event(stream.user_id, row)
            stream.write(event, topic=topic)


def _me_event(uid: int, row: tuple) -> bytes:
    me = _me_row(uid, row)
    return NO_ME if me is None else f"event: me\ndata: {json.dumps(me, separators=(',', ':'))}\n\n".encode()


class Hub:
    def __init__(self, *, redis_url: str | None = None):
        self.redis_url = redis_url or settings.REDIS_URL
        self.max_streams = settings.LIVE_MAX_STREAMS
        self.per_user = settings.LIVE_STREAMS_PER_USER
        self.lease_ms = int(settings.LIVE_LEASE_SECONDS * 1000)
        self.coalesce = settings.LIVE_COALESCE_SECONDS
        self.heartbeat = settings.LIVE_HEARTBEAT_SECONDS
        self.top_n = settings.LIVE_BOARD_TOP
        self.streams: set[Stream] = set()
        self.boards: dict[str, BoardFeed] = {}  # feed_key -> feed
        self.team_feeds: dict[str, set[str]] = {}  # a challenge's channel -> its team boards' feed keys
        self.by_user_topic: dict[str, set[Stream]] = {}
        self.notice_users: dict[str, dict[int, int]] = {}  # schema -> member -> notification streams open
        self.tiles_pending: set[tuple[str, int]] = set()
        self.tiles_task: asyncio.Task | None = None
        self.rank_checks: set[tuple[str, int]] = set()
        self.rank_task: asyncio.Task | None = None
        self.tile_rows: dict[tuple[str, int, int], tuple] = {}  # the board row each tile was last read at
        self.redis: aioredis.Redis | None = None
        self.subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._ids = itertools.count(1)
        self.instance = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        # A blocking pool: the next concurrent caller waits (up to 30 s) for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            self.redis_url, decode_responses=True, max_connections=settings.LIVE_REDIS_CONNECTIONS, timeout=30,
            socket_connect_timeout=2, health_check_interval=30)
        self.redis = aioredis.Redis(connection_pool=pool)
        self._lease = self.redis.register_script(_LEASE)
        self._renew_script = self.redis.register_script(_RENEW)
        self._state = self.redis.register_script(_STATE)
        self._leases = Batcher(self._lease_batch)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._listen()), loop.create_task(self._renew()),
                       loop.create_task(self._heartbeat())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for feed in self.boards.values():
            if feed.task:
                feed.task.cancel()
        for task in (self.tiles_task, self.rank_task):
            if task is not None:
                task.cancel()
        if self.redis is not None:
            await self.redis.aclose()

    # --- streams ---------------------------------------------------------------------------------
    async def open(self, stream: Stream) -> str | None:
        """Register a stream; returns None, or why it is refused: "process" (this process is full)
        or "user" (the member already holds LIVE_STREAMS_PER_USER streams)."""
        if len(self.streams) >= self.max_streams:
            return "process"
        if not await self._leases.submit(stream):
            return "user"
        stream.leased = True
        self.streams.add(stream)
        metrics.LIVE_STREAMS_OPEN.inc()
        for cid in stream.boards:
            topic = feed_key(stream.schema, cid, stream.team)
            feed = self.boards.get(topic)
            if feed is None:
                feed = self.boards[topic] = BoardFeed(self, stream.schema, cid, stream.team)
                if stream.team is not None:
                    self.team_feeds.setdefault(board_topic(stream.schema, cid), set()).add(topic)
            feed.streams.add(stream)
        if stream.notices:
            self.by_user_topic.setdefault(user_topic(stream.schema, stream.user_id), set()).add(stream)
            users = self.notice_users.setdefault(stream.schema, {})
            users[stream.user_id] = users.get(stream.user_id, 0) + 1
        return None

    async def _lease_batch(self, streams: list[Stream]) -> list:
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            await self._lease(keys=[lease_key(stream.schema, stream.user_id)],
                              args=[stream.key, self.per_user, self.lease_ms], client=pipe)
        return await pipe.execute()

    def attach(self, stream: Stream, send, first: bytes, seconds: float) -> None:
        """The response's headers are out: write its first bytes and end it after `seconds`."""
        stream.send = send
        stream.write(first)
        for topic in stream.topics:
            feed = self.boards.get(topic)
            if feed is not None:
                feed.welcome(stream)
        stream.deadline = asyncio.get_running_loop().call_later(seconds, stream.end)

    async def close(self, stream: Stream) -> None:
        if stream not in self.streams:
            return
        self.streams.discard(stream)
        metrics.LIVE_STREAMS_OPEN.dec()
        stream.ended = True
        if stream.deadline is not None:
            stream.deadline.cancel()
        for cid in stream.boards:
            topic = feed_key(stream.schema, cid, stream.team)
            feed = self.boards.get(topic)
            if feed is not None:
                feed.streams.discard(stream)
                if not feed.streams and (feed.task is None or feed.task.done()):
                    del self.boards[topic]
                    teams = self.team_feeds.get(board_topic(stream.schema, cid))
                    if teams is not None:
                        teams.discard(topic)
                        if not teams:
                            del self.team_feeds[board_topic(stream.schema, cid)]
        if stream.notices:
            topic = user_topic(stream.schema, stream.user_id)
            watchers = self.by_user_topic.get(topic)
            if watchers is not None:
                watchers.discard(stream)
                if not watchers:
                    del self.by_user_topic[topic]
            users = self.notice_users.get(stream.schema, {})
            if users.get(stream.user_id, 0) <= 1:
                users.pop(stream.user_id, None)
                for key in [k for k in self.tile_rows if k[0] == stream.schema and k[2] == stream.user_id]:
                    del self.tile_rows[key]
            else:
                users[stream.user_id] -= 1
        if stream.leased:
            try:
                await self.redis.zrem(lease_key(stream.schema, stream.user_id), stream.key)
            except (RedisError, OSError):  # the lease lapses by itself
                pass

    # --- state -----------------------------------------------------------------------------------
    async def board_state(self, schema: str, challenge_id: int, users,
                          team_id: int | None = None) -> tuple[str, bytes, dict[int, tuple]]:
        """`board_events`, rebuilding the board from PostgreSQL first when Redis has lost it."""
        from live import access

        try:
            return await self.board_events(schema, challenge_id, users, team_id)
        except LookupError:
            await access.run(access.board_ensure, schema=schema, challenge_id=challenge_id)
            return await self.board_events(schema, challenge_id, users, team_id)

    async def board_events(self, schema: str, challenge_id: int, users,
                           team_id: int | None = None) -> tuple[str, bytes, dict[int, tuple]]:
        """The board's version, its `scores` event (top N and count: the same bytes for every viewer)
        and each viewer's own row (member, rank, score, score above, name), in one script call per
        VIEWERS_PER_READ distinct viewers. Raises LookupError if the board is not built in Redis."""
        users = sorted(users)
        keys = [leaderboard.board_key(challenge_id, team_id, schema=schema),
                leaderboard.members_key(challenge_id, schema=schema),
                leaderboard.ready_key(challenge_id, schema=schema), leaderboard.names_key(schema=schema),
                leaderboard.version_key(challenge_id, schema=schema)]
        pipe = self.redis.pipeline(transaction=False)
        chunks = [users[i:i + VIEWERS_PER_READ] for i in range(0, len(users), VIEWERS_PER_READ)] or [[]]
        for chunk in chunks:
            await self._state(keys=keys, args=[self.top_n, *chunk], client=pipe)
        replies = await pipe.execute()
        if any(reply is None for reply in replies):
            raise LookupError(challenge_id)
        replies = [json.loads(reply) for reply in replies]
        first = replies[0]
        top, total, version = first["top"] or [], first["total"], first["version"]
        names = first["names"] or []
        results = []
        for index in range(0, len(top), 2):
            saved, _pid, uid = leaderboard.member_decode(top[index])
            results.append({"rank": index // 2 + 1, "user": {"id": uid, "name": names[index // 2]},
                            "score": int(float(top[index + 1])), "total_saved": f"{saved:.2f}"})
        version = str(version)
        scores = sse("scores", json.dumps({"results": results, "count": int(total)}, separators=(",", ":")),
                     version).encode()
        rows: dict[int, tuple] = {}
        for reply in replies:
            for uid, row in reply["mes"].items():
                if uid != "_":
                    rows[int(uid)] = tuple(row)
        return version, scores, rows

    async def tiles_event(self, schema: str, user_id: int) -> str:
        """The member's home tiles as a `tiles` event (savings, streak, points, rank), from the owning
        selector (LIVE_TILES), read in the live process's small database pool."""
        from live import access

        tiles = await access.run(access.tiles_read, schema=schema, user_id=user_id)
        return "" if tiles is None else sse("tiles", json.dumps(tiles, separators=(",", ":")))

    def tiles_changed(self, schema: str, user_id: int) -> None:
        """Refresh this member's tiles on their notification streams soon (coalesced per member)."""
        self.tiles_pending.add((schema, user_id))
        if self.tiles_task is None or self.tiles_task.done():
            self.tiles_task = asyncio.get_running_loop().create_task(self._tiles_flush())

    async def _tiles_flush(self) -> None:
        while self.tiles_pending:
            await asyncio.sleep(self.coalesce)
            pending, self.tiles_pending = self.tiles_pending, set()
            wanted = [(schema, uid) for schema, uid in pending if self.by_user_topic.get(user_topic(schema, uid))]

            async def one(schema: str, uid: int) -> None:
                try:
                    chunk = (await self.tiles_event(schema, uid)).encode()
                except Exception:  # noqa: BLE001 - the next change brings them; the page polls meanwhile
                    logger.warning("live: tiles unavailable", exc_info=True)
                    return
                for stream in list(self.by_user_topic.get(user_topic(schema, uid), ())):
                    stream.write(chunk, topic="tiles")

            await asyncio.gather(*(one(schema, uid) for schema, uid in wanted))

    def ranks_maybe_moved(self, schema: str, challenge_id: int) -> None:
        """A board of `schema` changed: the members on it who hold a notification stream may have a
        new rank tile. Which of them moved is read from Redis (one script call), their tiles from
        the selector."""
        users = self.notice_users.get(schema)
        if not users:
            return
        self.rank_checks.add((schema, challenge_id))
        if self.rank_task is None or self.rank_task.done():
            self.rank_task = asyncio.get_running_loop().create_task(self._rank_flush())

    async def _rank_flush(self) -> None:
        while self.rank_checks:
            await asyncio.sleep(self.coalesce)
            checks, self.rank_checks = self.rank_checks, set()
            for schema, challenge_id in checks:
                users = set(self.notice_users.get(schema, ()))
                if not users:
                    continue
                try:
                    _version, _scores, rows = await self.board_events(schema, challenge_id, users)
                except (RedisError, OSError, LookupError):
                    continue
                for uid in users:
                    key = (schema, challenge_id, uid)
                    row = rows.get(uid)
                    if row is None and key not in self.tile_rows:
                        continue
                    if self.tile_rows.get(key) != row:
                        if row is None:
                            self.tile_rows.pop(key, None)
                        else:
                            self.tile_rows[key] = row
                        self.tiles_changed(schema, uid)

    # --- the one subscription ----------------------------------------------------------------------
    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(BOARD_PATTERN, USER_PATTERN)
                if self.subscribed.is_set():  # a reconnect: whatever was published meanwhile is lost
                    for feed in list(self.boards.values()):
                        feed.changed()
                self.subscribed.set()
                backoff = 0.2
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                await pubsub.aclose()
                raise
            except (RedisError, OSError):
                logger.warning("live: Redis subscription lost; reconnecting")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001 - the connection is gone either way
                    pass

    def _dispatch(self, channel: str, data: str) -> None:
        feed = self.boards.get(channel)
        if feed is not None:
            feed.changed()
        for key in self.team_feeds.get(channel, ()):
            self.boards[key].changed()  # a team's board changes with its challenge's
        if ":lb:" in channel:
            parts = channel.split(":")  # sg:<schema>:lb:<challenge>:events
            if len(parts) == 5 and parts[3].isdigit():
                self.ranks_maybe_moved(parts[1], int(parts[3]))
            return
        watchers = self.by_user_topic.get(channel)
        if watchers:
            try:
                notice = json.loads(data)
                chunk = sse(str(notice.get("event", "notice")), json.dumps(notice.get("data", {})),
                            notice.get("id")).encode()
            except (ValueError, AttributeError):
                return
            for stream in list(watchers):
                stream.write(chunk)
            if notice.get("event") in ("notice", "tiles"):  # a deposit, a badge: the member's numbers moved
                parts = channel.split(":")  # sg:<schema>:live:user:<id>
                if parts[-1].isdigit():
                    self.tiles_changed(parts[1], int(parts[-1]))

    async def _heartbeat(self) -> None:
        """A comment line to every stream nothing was written to since the last round (keeps proxies
        from timing the stream out); one sweep per LIVE_HEARTBEAT_SECONDS for the whole process."""
        while True:
            await asyncio.sleep(self.heartbeat)
            for stream in list(self.streams):
                if stream.written:
                    stream.written = False
                else:
                    stream.write(HEARTBEAT)

    async def _renew(self) -> None:
        """Renew this process's leases at a third of their life, in batches."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            streams = [s for s in self.streams if s.leased]
            try:
                for start in range(0, len(streams), 500):
                    batch = streams[start:start + 500]
                    await self._renew_script(keys=[lease_key(s.schema, s.user_id) for s in batch],
                                             args=[self.lease_ms, *(s.key for s in batch)])
            except (RedisError, OSError):
                logger.warning("live: could not renew stream leases")


def _me_row(uid: int, row) -> dict | None:
    member, rank, score, above, name = row
    if not member:
        return None
    saved, _pid, _uid = leaderboard.member_decode(member)
    score = int(float(score))
    return {"rank": int(rank) + 1, "user": {"id": uid, "name": name}, "score": score,
            "total_saved": f"{Decimal(saved):.2f}", "gap_to_next": (int(float(above)) - score) if above else None}
