"""Helpers for tests against a real server: a threaded WSGI server on 127.0.0.1:0 and a private redis-server."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application


class _QuietHandler(WSGIRequestHandler):
    """One request per connection: a pool thread never waits on an idle keep-alive socket."""

    def handle(self):
        self.close_connection = True
        self.handle_one_request()

    def log_message(self, *args):  # keep test output clean
        pass


class _Server(ThreadedWSGIServer):
    """Like gunicorn's threaded worker: a fixed pool of request threads (each holds one DB connection
    while it serves), and a listen backlog deep enough that 100 simultaneous connects all queue."""

    request_queue_size = 256

    def __init__(self, *args, threads: int = 8, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(max_workers=threads)

    def process_request(self, request, client_address):
        self.pool.submit(self.process_request_thread, request, client_address)

    def server_close(self):
        super().server_close()
        self.pool.shutdown(wait=True)


@contextmanager
def live_server():
    """Yield the port of a threaded Django server bound to 127.0.0.1 on an ephemeral port."""
    server = _Server(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server this test starts and stops itself on a spare loopback port (never the shared one)."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def every_queue() -> list[str]:
    """Every queue the app declares, for start_worker(queues=...). Whatever a test worker is given
    narrows what the app consumes for every later worker in the process (celery's Queues.select), so a
    narrower list here once starved a later test's notifications worker."""
    from savegame.celery import app

    return [queue.name for queue in app.conf.task_queues]


PG_BIN = "/usr/lib/postgresql/15/bin"


class PrivatePostgres:
    """A PostgreSQL cluster this test or bench makes, starts and stops itself (initdb into a temp dir,
    a spare loopback port), never the machine's. As root, the server runs as the `postgres` user."""

    def __init__(self, *, bin_dir: str = PG_BIN):
        import tempfile

        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = tempfile.mkdtemp(prefix="sg-private-pg-")
        self.data = f"{self.root}/data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        import os

        command = [f"{self.bin_dir}/{args[0]}", *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        import os
        import shutil

        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        # fsync off is safe against a server crash (the kernel keeps the pages); synchronous_commit stays on:
        # off, a stop -m immediate loses commits already acknowledged, which the fault campaign would count
        # as deposits answered 200 and lost.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", self.data, "-l", f"{self.root}/log", "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-qAtc", sql).stdout

    def destroy(self) -> None:
        import shutil

        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
