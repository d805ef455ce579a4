"""gunicorn reads this file from the working directory when it starts (any worker class).

prometheus-client multiprocess mode (savegame/metrics.py): a worker that exits takes its live gauges
(requests in flight, open streams) with it, so /metrics never adds up a dead worker's value.

The master never imports Django, so it learns the samples' directory from the settings here, at start
(PROMETHEUS_MULTIPROC_DIR, else the settings' default), and exports it to the workers it forks. Nothing
in these hooks may raise: an exception in `child_exit` stops gunicorn's master, and with it every worker,
the moment one worker dies (a worker killed for memory must cost one worker, not the site).
"""

import os


def _metrics_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        return path
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "savegame.settings")
    from django.conf import settings  # the settings module only: no apps, no database

    return settings.PROMETHEUS_MULTIPROC_DIR  # reading it exports it to os.environ (savegame/settings.py)


def on_starting(server):
    try:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir()
    except Exception:  # noqa: BLE001 - metrics are not worth a web tier that cannot start
        server.log.exception("metrics: no multiprocess directory; dead workers' gauges stay until a restart")


def child_exit(server, worker):
    try:
        from prometheus_client import multiprocess

        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if path:
            multiprocess.mark_process_dead(worker.pid, path)
    except Exception:  # noqa: BLE001 - see the module's docstring
        server.log.exception("metrics: could not drop the gauges of worker %s", worker.pid)


def post_worker_init(worker):
    """The worker has imported Django and the project: move everything alive now (modules, models,
    URL patterns, settings; ~180,000 objects) out of the garbage collector's view. A full collection
    then walks only what requests made: ~15-25 ms of CPU instead of ~140 ms, during which every
    thread of the worker waits (bench/web.py's p99). Objects are never moved back, so this only saves
    work; `gc.freeze` is the standard library's tool for exactly this."""
    try:
        import gc

        gc.freeze()
    except Exception:  # noqa: BLE001 - see the module's docstring
        worker.log.exception("gc.freeze failed; the worker runs with the default collector")
