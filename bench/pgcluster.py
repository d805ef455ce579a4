"""A private PostgreSQL cluster for benchmarks that would bloat a shared server's catalog.

initdb into a temporary directory, start on a free loopback port, stop and delete at the end. Run
as root, the cluster belongs to the unprivileged `pgserver` user (PostgreSQL refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_user(name: str) -> None:
    """A fresh machine has no `pgserver` user until the embedded server first runs as root."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)


class PrivateCluster:
    def __init__(self, *, settings: dict[str, str] | None = None):
        self.settings = settings or {}
        self.dir = Path(tempfile.mkdtemp(prefix="sg-bench-pg-"))
        self.port = _free_port()
        self.user = "pgserver" if os.geteuid() == 0 else None

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [*(["runuser", "-u", self.user, "--"] if self.user else []), *args]
        return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/bench"

    def start(self) -> PrivateCluster:
        if self.user:
            _ensure_user(self.user)
            shutil.chown(self.dir, self.user, self.user)
        data = self.dir / "data"
        self._run(str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = " ".join([f"-p {self.port}", f"-k {self.dir}", "-c listen_addresses=127.0.0.1",
                            *(f"-c {k}={v}" for k, v in self.settings.items())])
        self._run(str(BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        self._run(str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc",
                  "CREATE DATABASE bench")
        return self

    def stop(self) -> None:
        try:
            self._run(str(BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
