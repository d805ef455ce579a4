"""gunicorn reads this file from the working directory when it starts (any worker class).

prometheus-client multiprocess mode (savegame/metrics.py): a worker that exits takes its live gauges
(requests in flight, open streams) with it, so /metrics never adds up a dead worker's value.
"""


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
