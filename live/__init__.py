"""Live updates (Server-Sent Events) for the member site, served by the `live` process.

- `live.hub`: one Redis pattern subscription per process, fanned out to in-process streams; the
  per-user cap (in Redis, leased) and the per-process cap; coalesced leaderboard state.
- `live.access`: the permission check for a new stream, in a small thread pool of its own that
  gives its database connection back before the stream starts (no stream holds one).
- `live.app`: the Starlette app that serves the stream paths (`live.asgi` for the process).
- `live.publish`: what the rest of the code calls to push a notice to a member's stream.
"""
