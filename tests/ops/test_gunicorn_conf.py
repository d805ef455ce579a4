"""gunicorn.conf.py's worker hook: once a worker has loaded the app, what it loaded is frozen out of
the garbage collector's full collections (a full collection over it stalled every thread of the
worker for ~140 ms of CPU), and the hook never raises (an exception in a hook can stop gunicorn)."""

from __future__ import annotations

import gc
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

HOOKS = runpy.run_path(str(Path(__file__).resolve().parents[2] / "gunicorn.conf.py"))


def _worker():
    return SimpleNamespace(log=logging.getLogger("gunicorn.test"))


def test_a_loaded_worker_freezes_what_it_loaded():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        HOOKS["post_worker_init"](_worker())
        assert gc.get_freeze_count() > 10_000  # Django, the project, the test run: all of it
    finally:
        gc.unfreeze()


def test_the_hook_never_raises(caplog):
    with mock.patch("gc.freeze", side_effect=RuntimeError("boom")), caplog.at_level(logging.ERROR):
        HOOKS["post_worker_init"](_worker())
    assert "gc.freeze failed" in caplog.text
