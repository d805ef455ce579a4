"""TRUSTED_PROXY_COUNT alone decides the client address (issue 14, item 10), tested against the
web server exactly as the Procfile starts it: the server must not rewrite the peer from
X-Forwarded-For (uvicorn trusts it from 127.0.0.1 by default; gunicorn never rewrites it), or a caller on loopback with a new
X-Forwarded-For each time escapes every per-address limit."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _procfile(name: str = "Procfile") -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def _procfile_web() -> str:
    return _procfile()["web"].strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, host: str, forwarded: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/challenges",
                                     headers={"Host": host, "X-Forwarded-For": forwarded})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_procfile_never_lets_the_server_rewrite_the_peer(tenant):
    # (also makes pytest-django create the test database when this module runs alone)
    # uvicorn rewrites the peer from X-Forwarded-For sent from 127.0.0.1 unless told not to; gunicorn
    # never rewrites REMOTE_ADDR. Every HTTP server the Procfiles start must leave the peer alone.
    servers = [command for procfile in ("Procfile", "Procfile.dev") for command in _procfile(procfile).values()
               if "uvicorn" in command or "gunicorn" in command]
    assert servers
    for command in servers:
        assert "gunicorn" in command or "--no-proxy-headers" in command, command


@pytest.mark.slow
def test_the_procfile_server_does_not_let_x_forwarded_for_pick_the_client(committed_org):
    db = settings.DATABASES["default"]
    port = _free_port()
    command = re.sub(r"(--host|--bind) 0\.0\.0\.0", r"\1 127.0.0.1", _procfile_web())
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "1", "DJANGO_SETTINGS_MODULE": "savegame.settings", "TRUSTED_PROXY_COUNT": "0",
           "API_RATE_PER_IP": "3/min", "API_RATE_PER_ORG": "1000/min", "DEBUG": "0", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, start_new_session=True)
    host = f"{committed_org.slug}.localhost"
    try:
        deadline = time.monotonic() + 120  # collectstatic runs first (DEBUG=0)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        statuses = [_get(port, host, f"198.51.100.{n}") for n in range(1, 7)]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert 429 in statuses, statuses  # one loopback caller, whatever it forwards: its own limit applies

