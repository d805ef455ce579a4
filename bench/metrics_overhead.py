"""What /metrics costs the callback path: the metric updates one callback makes (in-flight inc/dec,
request counter, latency histogram, callbacks received and stored) in prometheus-client multiprocess
mode, against a baseline of six lock-guarded dict increments in the same run.

    DJANGO_SETTINGS_MODULE=savegame.settings_test .venv/bin/python bench/metrics_overhead.py [--n 20000]

Prints CPU µs per callback (process time) and wall p50/p99 over batches of 100, for both.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
import os
import statistics
import threading
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings_test")
    import django

    django.setup()
    from savegame import metrics

    def one_callback() -> None:
        metrics.HTTP_IN_FLIGHT.inc()
        metrics.HTTP_IN_FLIGHT.dec()
        metrics.HTTP_REQUESTS.labels(route="/hooks/pay/<str:token>/c2b/confirmation", method="POST", status="2xx").inc()
        metrics.HTTP_LATENCY.labels(route="/hooks/pay/<str:token>/c2b/confirmation", method="POST").observe(0.01)
        metrics.CALLBACKS_RECEIVED.labels(org="other", kind="confirmation").inc()
        metrics.CALLBACKS_STORED.labels(org="other", kind="confirmation").inc()

    counts: dict[int, int] = {}
    lock = threading.Lock()

    def baseline() -> None:
        for key in range(6):
            with lock:
                counts[key] = counts.get(key, 0) + 1

    for name, fn in (("baseline", baseline), ("metrics", one_callback)):
        walls = []
        cpu_started = time.process_time()
        for _ in range(args.n // 100):
            started = time.perf_counter()
            for _ in range(100):
                fn()
            walls.append((time.perf_counter() - started) / 100 * 1e6)
        cpu = (time.process_time() - cpu_started) / args.n * 1e6
        walls.sort()
        print(f"{name:8s} CPU {cpu:6.1f} µs/callback  wall p50 {statistics.median(walls):6.1f}  "
              f"p99 {walls[int(len(walls) * 0.99) - 1]:6.1f} µs")


if __name__ == "__main__":
    main()
