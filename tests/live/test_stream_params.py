"""Junk in a stream's query (?seconds=) or path is the caller's mistake, named: a 400 (or 404), never a 500
and never silently replaced by a default (issue 14, items 5 and 11; HELPERS: junk input)."""

from __future__ import annotations

import asyncio

import aiohttp
from django.test import Client

from tests.live.conftest import headers_for, hub_server, session_for

JUNK_SECONDS = ["abc", "", "nan", "inf", "-inf", "1e999", "-1", "0", "0x10", "1;2", "%00"]


def test_junk_seconds_is_a_400_naming_the_parameter_and_a_good_one_streams(committed_org, live_members):
    challenge, (akinyi,) = live_members(1)
    headers = headers_for(committed_org, session_for(committed_org, akinyi))
    base = f"/challenges/{challenge.pk}/leaderboard/stream"

    async def scenario(port):
        answers = {}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:  # old code: a 200 stream
            for junk in JUNK_SECONDS:
                async with http.get(f"http://127.0.0.1:{port}{base}?seconds={junk}", headers=headers) as resp:
                    answers[junk] = (resp.status, await resp.text())
            async with http.get(f"http://127.0.0.1:{port}/live/notifications?seconds=abc", headers=headers) as resp:
                answers["notifications"] = (resp.status, await resp.text())
            async with http.get(f"http://127.0.0.1:{port}/challenges/{2**63}/leaderboard/stream",
                                headers=headers) as resp:
                answers["huge id"] = (resp.status, await resp.text())
            async with http.get(f"http://127.0.0.1:{port}{base}?seconds=0.3", headers=headers) as resp:
                answers["good"] = (resp.status, resp.headers["Content-Type"])
                await resp.read()
        return answers

    with hub_server() as port:
        answers = asyncio.run(scenario(port))
    for junk in [*JUNK_SECONDS, "notifications"]:
        status, text = answers[junk]
        assert status == 400 and "seconds" in text, (junk, status, text)
    assert answers["huge id"][0] == 404
    assert answers["good"][0] == 200 and answers["good"][1].startswith("text/event-stream")


def test_the_web_tiers_old_stream_path_ignores_its_query(committed_org):
    """challenges.views.leaderboard_stream (reached only when the live process is not routed) reads no
    parameter: junk there is the same 503 the page falls back to polling on, never a 500."""
    client = Client(HTTP_HOST=f"{committed_org.slug}.localhost", raise_request_exception=False)
    for query in ("?seconds=abc", "?seconds=nan", "?seconds=1e999"):
        response = client.get(f"/challenges/1/leaderboard/stream{query}")
        assert response.status_code == 503, (query, response.status_code)
