"""One load-generator process for bench/live.py: holds N SSE streams and notes when each event id
arrives. Prints `opened <n> <failed>` once all are open, then a JSON line {id: [arrival times]} on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

import aiohttp


async def main(base: str, first_uid: int, count: int) -> None:
    arrivals: dict[str, list[float]] = {}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    opened = failed = 0
    ready = asyncio.Event()

    async def one(uid: int, http: aiohttp.ClientSession) -> None:
        nonlocal opened, failed
        try:
            async with http.get(f"{base}/s/{uid}") as resp:
                if resp.status != 200:
                    failed += 1
                    return
                opened += 1
                if opened + failed == count:
                    ready.set()
                async for raw in resp.content:
                    if raw.startswith(b"id: "):
                        arrivals.setdefault(raw[4:].strip().decode(), []).append(time.time())
        except (aiohttp.ClientError, asyncio.TimeoutError):
            failed += 1
        finally:
            if opened + failed == count:
                ready.set()

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
        tasks = []
        for start in range(0, count, 250):  # open in waves, as browsers arriving would
            tasks += [asyncio.ensure_future(one(uid, http)) for uid in range(first_uid + start,
                                                                           first_uid + min(count, start + 250))]
            await asyncio.sleep(0.05)
        await ready.wait()
        print(f"opened {opened} {failed}", flush=True)
        await stop.wait()
        print(json.dumps(arrivals), flush=True)
        for task in tasks:
            task.cancel()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
