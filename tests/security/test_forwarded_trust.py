"""TRUSTED_PROXY_COUNT alone decides the client address (issue 14, item 10), tested against the
web server exactly as the Procfile starts it: the server must not rewrite the peer from
X-Forwarded-For (uvicorn trusts it from 127.0.0.1 by default), or a caller on loopback with a new
X-Forwarded-For each time escapes every per-address limit."""

from __future__ import annotations

import os
import re
import shlex
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


def _procfile_web() -> str:
    line = next(l for l in (ROOT / "Procfile").read_text().splitlines() if l.startswith("web:"))
    return line.split(":", 1)[1].strip()


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
    assert "--no-proxy-headers" in _procfile_web()
    dev = next(l for l in (ROOT / "Procfile.dev").read_text().splitlines() if l.startswith("web:"))
    assert "--no-proxy-headers" in dev


@pytest.mark.slow
def test_the_procfile_server_does_not_let_x_forwarded_for_pick_the_client(committed_org):
    db = settings.DATABASES["default"]
    port = _free_port()
    command = _procfile_web().replace("${PORT:-8000}", str(port)).replace("${WEB_CONCURRENCY:-2}", "1")
    command = re.sub(r"--host \S+", "--host 127.0.0.1", command)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "savegame.settings", "TRUSTED_PROXY_COUNT": "0",
           "API_RATE_PER_IP": "3/min", "API_RATE_PER_ORG": "1000/min", "DEBUG": "0", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(shlex.split(command), cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    host = f"{committed_org.slug}.localhost"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.3)
        statuses = [_get(port, host, f"198.51.100.{n}") for n in range(1, 7)]
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert 429 in statuses, statuses  # one loopback caller, whatever it forwards: its own limit applies

