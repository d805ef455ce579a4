"""Leaderboards in Redis sorted sets, one per challenge (and one per team), rebuilt from PostgreSQL.

Ordering (DESIGN.md): score desc, then total saved desc, then joined earlier. The sorted-set score
is the points; ties fall to the member string, which Redis orders lexicographically (reversed by
ZREVRANGE), so the member encodes the tie-breakers:
    "<total saved in cents, 15 digits>:<999999999999 - participant id, 12 digits>:<user id>"
A hash maps user id -> "<version>|<member>"; a write applies only if its version is newer, so
out-of-order write-throughs never roll a score back. Reading top N + "me" is one EVALSHA.
Every key carries the tenant schema (savegame.redis.tenant_key).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from redis.exceptions import RedisError

from savegame.redis import redis_client, tenant_key

logger = logging.getLogger(__name__)

PID_CEILING = 999_999_999_999
REBUILD_CHUNK = 5000

_UPDATE = """
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  local sep = string.find(cur, '|', 1, true)
  if tonumber(string.sub(cur, 1, sep - 1)) >= tonumber(ARGV[2]) then return 0 end
  local old = string.sub(cur, sep + 1)
  redis.call('ZREM', KEYS[1], old)
  if KEYS[3] ~= '' then redis.call('ZREM', KEYS[3], old) end
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
if KEYS[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[1], ARGV[5]) end
return 1
"""

_READ = """
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local n = tonumber(ARGV[1])
local top = redis.call('ZREVRANGE', KEYS[1], 0, n - 1, 'WITHSCORES')
local total = redis.call('ZCARD', KEYS[1])
local me = {}
local ids = {}
for i = 1, #top, 2 do
  ids[#ids + 1] = string.match(top[i], '([^:]+)$')
end
if ARGV[2] ~= '' then
  local cur = redis.call('HGET', KEYS[2], ARGV[2])
  if cur then
    local member = string.sub(cur, string.find(cur, '|', 1, true) + 1)
    local rank = redis.call('ZREVRANK', KEYS[1], member)
    if rank then
      local score = redis.call('ZSCORE', KEYS[1], member)
      local above = {'', ''}
      if rank > 0 then above = redis.call('ZREVRANGE', KEYS[1], rank - 1, rank - 1, 'WITHSCORES') end
      me = {member, tostring(rank), score, above[1], above[2]}
      ids[#ids + 1] = ARGV[2]
    end
  end
end
local names = {}
if #ids > 0 then names = redis.call('HMGET', KEYS[4], unpack(ids)) end
for i = 1, #names do if not names[i] then names[i] = '' end end
return {top, total, me, names}
"""


_RANK = """
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then old = string.sub(old, string.find(old, '|', 1, true) + 1) end
local ahead = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf')
for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[2])) do
  if other ~= old and other > ARGV[3] then ahead = ahead + 1 end
end
return ahead + 1
"""


@dataclass(frozen=True)
class RankQuery:
    challenge_id: int
    user_id: int
    points: int
    total_saved: Decimal
    participant_id: int


def rank_for(*, challenge_id: int, user_id: int, points: int, total_saved: Decimal, participant_id: int) -> int | None:
    """The rank a member holds (or will hold) with `points` and `total_saved`, against the rest of
    the live board: O(log N) plus the members tied on that score. None when the board is not built.
    Raises RedisError when Redis is away (callers fall back to PostgreSQL)."""
    (rank,) = ranks_for([RankQuery(challenge_id, user_id, points, total_saved, participant_id)])
    return rank


def ranks_for(queries: list[RankQuery]) -> list[int | None]:
    """`rank_for` for many members at once, in one Redis round trip."""
    if not queries:
        return []
    cache = _scripts.__dict__
    _scripts()
    if "rank" not in cache or cache.get("rank_client") is not cache["client"]:
        cache.update(rank=cache["client"].register_script(_RANK), rank_client=cache["client"])
    pipe = cache["client"].pipeline(transaction=False)
    for q in queries:
        member = member_encode(total_saved=q.total_saved, participant_id=q.participant_id, user_id=q.user_id)
        cache["rank"](keys=[board_key(q.challenge_id), members_key(q.challenge_id), ready_key(q.challenge_id)],
                      args=[q.user_id, int(q.points), member], client=pipe)
    return [int(rank) if rank else None for rank in pipe.execute()]


def _scripts():
    client = redis_client()
    cache = _scripts.__dict__
    if cache.get("client") is not client:
        cache.update(client=client, update=client.register_script(_UPDATE), read=client.register_script(_READ))
    return cache["update"], cache["read"]


# --- keys ----------------------------------------------------------------------------------------
def board_key(challenge_id: int, team_id: int | None = None, *, schema: str | None = None) -> str:
    if team_id:
        return tenant_key("lb", challenge_id, "team", team_id, schema=schema)
    return tenant_key("lb", challenge_id, schema=schema)


def members_key(challenge_id: int, *, schema: str | None = None) -> str:
    return tenant_key("lb", challenge_id, "m", schema=schema)


def ready_key(challenge_id: int, *, schema: str | None = None) -> str:
    return tenant_key("lb", challenge_id, "ready", schema=schema)


def names_key(*, schema: str | None = None) -> str:
    return tenant_key("lb", "names", schema=schema)


def teams_key(challenge_id: int, *, schema: str | None = None) -> str:
    return tenant_key("lb", challenge_id, "teams", schema=schema)


def channel(challenge_id: int, *, schema: str | None = None) -> str:
    return tenant_key("lb", challenge_id, "events", schema=schema)


def version_key(challenge_id: int, *, schema: str | None = None) -> str:
    """A counter bumped on every published change: the live streams' event id (Last-Event-ID)."""
    return tenant_key("lb", challenge_id, "v", schema=schema)


def member_encode(*, total_saved: Decimal, participant_id: int, user_id: int) -> str:
    cents = int((Decimal(total_saved) * 100).to_integral_value())
    return f"{cents:015d}:{PID_CEILING - participant_id:012d}:{user_id}"


def member_decode(member: str) -> tuple[Decimal, int, int]:
    cents, inverted, user_id = member.split(":")
    return Decimal(int(cents)) / 100, PID_CEILING - int(inverted), int(user_id)


# --- writes --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoardUpdate:
    challenge_id: int
    team_id: int | None
    participant_id: int
    user_id: int
    version: int
    points: int
    total_saved: Decimal
    name: str = ""


def updates_apply(updates: list[BoardUpdate], *, schema: str | None = None) -> None:
    """Write scores through to Redis and publish one event per challenge, in one round trip."""
    if not updates:
        return
    schema = schema or connection.schema_name
    update_script, _ = _scripts()
    pipe = redis_client().pipeline(transaction=False)
    for u in updates:
        member = member_encode(total_saved=u.total_saved, participant_id=u.participant_id, user_id=u.user_id)
        update_script(
            keys=[board_key(u.challenge_id, schema=schema), members_key(u.challenge_id, schema=schema),
                  board_key(u.challenge_id, u.team_id, schema=schema) if u.team_id else "", names_key(schema=schema)],
            args=[u.user_id, u.version, member, u.points, u.name], client=pipe,
        )
    for challenge_id in {u.challenge_id for u in updates}:
        changed = [u.user_id for u in updates if u.challenge_id == challenge_id]
        pipe.incr(version_key(challenge_id, schema=schema))
        pipe.publish(channel(challenge_id, schema=schema), json.dumps({"type": "scores", "users": changed}))
    pipe.execute()


def team_totals_apply(challenge_id: int, totals: dict[int, Decimal], *, schema: str | None = None) -> None:
    if totals:
        redis_client().zadd(teams_key(challenge_id, schema=schema), {str(t): float(v) for t, v in totals.items()})


def board_forget(challenge_id: int) -> None:
    """Drop a challenge's Redis keys (it is rebuilt from PostgreSQL on the next read)."""
    client = redis_client()
    keys = [board_key(challenge_id), members_key(challenge_id), ready_key(challenge_id), teams_key(challenge_id)]
    keys += list(client.scan_iter(match=board_key(challenge_id) + ":team:*", count=1000))
    client.delete(*keys)


def board_rebuild(challenge_id: int) -> int:
    """Rebuild a challenge's boards from PostgreSQL into temporary keys, then swap them in atomically."""
    from challenges.models import Participant, Team
    from savegame.metrics import LEADERBOARD_REBUILDS, org_label, safe

    safe(LEADERBOARD_REBUILDS.labels(org=org_label()).inc)

    rows = list(
        Participant.objects.filter(challenge_id=challenge_id)
        .values_list("id", "user_id", "points", "total_contributed", "version", "team_id", "user__name",
                     "user__phone_number")
        .order_by()
    )
    client = redis_client()
    zkey, hkey, suffix = board_key(challenge_id), members_key(challenge_id), ":rebuild"
    team_members: dict[int, dict[str, int]] = {}
    pipe = client.pipeline(transaction=False)
    pipe.delete(zkey + suffix, hkey + suffix)
    for start in range(0, len(rows), REBUILD_CHUNK):
        chunk = rows[start:start + REBUILD_CHUNK]
        scores, versions, names = {}, {}, {}
        for pid, uid, points, saved, version, team_id, name, phone in chunk:
            member = member_encode(total_saved=saved, participant_id=pid, user_id=uid)
            scores[member] = points
            versions[uid] = f"{version}|{member}"
            names[uid] = name or f"…{phone[-4:]}"
            if team_id:
                team_members.setdefault(team_id, {})[member] = points
        pipe.zadd(zkey + suffix, scores)
        pipe.hset(hkey + suffix, mapping=versions)
        pipe.hset(names_key(), mapping=names)
    pipe.execute()
    team_totals = dict(Team.objects.filter(challenge_id=challenge_id).values_list("id", "total_saved"))
    swap = client.pipeline(transaction=True)
    if rows:
        swap.rename(zkey + suffix, zkey)
        swap.rename(hkey + suffix, hkey)
    else:
        swap.delete(zkey, hkey)
    for key in client.scan_iter(match=zkey + ":team:*", count=1000):
        swap.delete(key)
    for team_id, members in team_members.items():
        swap.zadd(board_key(challenge_id, team_id), members)
    swap.delete(teams_key(challenge_id))
    if team_totals:
        swap.zadd(teams_key(challenge_id), {str(t): float(v) for t, v in team_totals.items()})
    swap.set(ready_key(challenge_id), "1")
    swap.execute()
    return len(rows)


# --- reads ---------------------------------------------------------------------------------------
@dataclass
class Board:
    results: list[dict]
    me: dict | None
    total: int


def _read_once(challenge_id: int, team_id: int | None, limit: int, user_id: int | None):
    _, read_script = _scripts()
    return read_script(
        keys=[board_key(challenge_id, team_id), members_key(challenge_id), ready_key(challenge_id), names_key()],
        args=[limit, user_id or ""],
    )


def board_read(*, challenge_id: int, limit: int = 10, user_id: int | None = None, team_id: int | None = None) -> Board:
    """Top `limit` plus the caller's rank, score and gap to the next rank: one Redis round trip
    (two plus a rebuild when Redis has lost the board). With Redis down, the same answer from PostgreSQL."""
    try:
        raw = _read_once(challenge_id, team_id, limit, user_id)
    except RedisError:
        logger.warning("leaderboard read from PostgreSQL: Redis unavailable", extra={"challenge": challenge_id})
        return board_from_database(challenge_id=challenge_id, limit=limit, user_id=user_id, team_id=team_id)
    if raw is None:
        lock = redis_client().set(tenant_key("lb", challenge_id, "rebuilding"), "1", nx=True, ex=60)
        if lock:
            try:
                board_rebuild(challenge_id)
            finally:
                redis_client().delete(tenant_key("lb", challenge_id, "rebuilding"))
            raw = _read_once(challenge_id, team_id, limit, user_id)
        if raw is None:
            return board_from_database(challenge_id=challenge_id, limit=limit, user_id=user_id, team_id=team_id)
    top, total, me_raw, names = raw
    results = []
    for index in range(0, len(top), 2):
        saved, _pid, uid = member_decode(top[index])
        results.append({"rank": index // 2 + 1, "user": {"id": uid, "name": names[index // 2]},
                        "score": int(float(top[index + 1])), "total_saved": f"{saved:.2f}"})
    me = None
    if me_raw:
        member, rank, score, above_member, above_score = me_raw
        saved, _pid, uid = member_decode(member)
        score = int(float(score))
        me = {"rank": int(rank) + 1, "user": {"id": uid, "name": names[-1]}, "score": score,
              "total_saved": f"{saved:.2f}",
              "gap_to_next": (int(float(above_score)) - score) if above_member else None}
    return Board(results=results, me=me, total=int(total))


def board_from_database(*, challenge_id: int, limit: int, user_id: int | None, team_id: int | None = None) -> Board:
    """The same answer straight from PostgreSQL (used while a rebuild is running elsewhere)."""
    from challenges.models import Participant

    qs = Participant.objects.filter(challenge_id=challenge_id).select_related("user")
    if team_id:
        qs = qs.filter(team_id=team_id)
    ordered = list(qs.order_by("-points", "-total_contributed", "id"))
    results, me = [], None
    for index, p in enumerate(ordered):
        row = {"rank": index + 1, "user": {"id": p.user_id, "name": p.user.display_name}, "score": p.points,
               "total_saved": f"{p.total_contributed:.2f}"}
        if index < limit:
            results.append(row)
        if p.user_id == user_id:
            above = ordered[index - 1] if index else None
            me = {**row, "gap_to_next": (above.points - p.points) if above else None}
    return Board(results=results, me=me, total=len(ordered))


def board_top_members(challenge_id: int, n: int = 5) -> list[tuple[str, float]] | None:
    """The current top n (member, score), rebuilding the board first if Redis lost it."""
    return boards_top_members([challenge_id], n)[challenge_id]


def boards_top_members(challenge_ids, n: int = 5) -> dict[int, list[tuple[str, float]]]:
    """`board_top_members` for several challenges in one round trip (plus a rebuild for a lost board)."""
    challenge_ids = list(challenge_ids)
    if not challenge_ids:
        return {}
    client = redis_client()
    pipe = client.pipeline(transaction=False)
    for challenge_id in challenge_ids:
        pipe.exists(ready_key(challenge_id))
        pipe.zrevrange(board_key(challenge_id), 0, n - 1, withscores=True)
    replies = pipe.execute()
    tops = {}
    for index, challenge_id in enumerate(challenge_ids):
        ready, top = replies[2 * index], replies[2 * index + 1]
        if not ready:
            board_rebuild(challenge_id)
            top = client.zrevrange(board_key(challenge_id), 0, n - 1, withscores=True)
        tops[challenge_id] = top
    return tops


def team_standings(challenge_id: int) -> list[tuple[int, Decimal]]:
    client = redis_client()
    if not client.exists(ready_key(challenge_id)):
        board_rebuild(challenge_id)
    return [(int(t), Decimal(str(s)).quantize(Decimal("0.01")))
            for t, s in client.zrevrange(teams_key(challenge_id), 0, -1, withscores=True)]
