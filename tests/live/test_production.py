"""Production mode from the Procfile: the `web` and `live` commands exactly as written there, with
DEBUG=0, against the test database; every member and leader page loads, and a stream opens."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from tests.live.conftest import session_for
from tests.payments.live import free_port
from tests.test_pages_smoke import LEADER_PAGES, MEMBER_PAGES, PUBLIC_PAGES, _urls

ROOT = Path(settings.BASE_DIR)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def _start(command: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    return process.stderr.read().decode(errors="replace")[-3000:]


def _wait_up(url: str, host: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("the process exited: " + process.stderr.read().decode(errors="replace")[-3000:])
        try:
            requests.get(url, headers={"Host": host}, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def test_procfile_web_and_live_serve_every_page_with_debug_off(committed_org):
    import importlib

    from accounts.models import User
    from accounts.services import user_create
    from web.demo import DEMO_APPS, DEMO_ORGS

    schema = committed_org.schema_name
    with schema_context(schema):
        members = [user_create(phone_number=phone, name=name) for name, phone in DEMO_ORGS[0]["members"]]
        for app in DEMO_APPS:
            importlib.import_module(f"{app}.demo").seed(committed_org, members)
        admin = User.objects.get(phone_number="+254722000001")
        member_urls = _urls(MEMBER_PAGES, member=members[0])
        leader_urls = _urls(LEADER_PAGES, member=members[0])
        from django.urls import reverse

        public_urls = [(name, reverse(name)) for name in PUBLIC_PAGES]
        challenge_id = int(member_urls[[n for n, _ in member_urls].index(
            next(n for n, _ in member_urls if n.startswith("challenge-leaderboard")))][1].split("/")[2])
    member_key, admin_key = session_for(committed_org, members[0]), session_for(committed_org, admin)

    web_port, live_port = free_port(), free_port()
    db = connection.settings_dict
    env = {**os.environ, "DEBUG": "0", "PORT": str(web_port), "LIVE_PORT": str(live_port),
           "WEB_CONCURRENCY": "1", "WEB_THREADS": "2", "DJANGO_SETTINGS_MODULE": "savegame.settings",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "SECRET_KEY": settings.SECRET_KEY,  # the sessions made here are signed with it
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    commands = procfile()
    host = f"{committed_org.slug}.{settings.BASE_DOMAIN}"
    web, live = _start(commands["web"], env), _start(commands["live"], env)
    problems = []
    try:
        _wait_up(f"http://127.0.0.1:{web_port}/healthz", host, web)
        _wait_up(f"http://127.0.0.1:{live_port}/live/notifications", host, live)
        base = f"http://127.0.0.1:{web_port}"
        cookie = settings.SESSION_COOKIE_NAME
        for key, urls in ((None, public_urls), (member_key, member_urls), (admin_key, leader_urls)):
            for name, url in urls:
                response = requests.get(base + url, headers={"Host": host}, cookies={cookie: key} if key else {},
                                        timeout=30, allow_redirects=False)
                if response.status_code != 200:
                    problems.append(f"{name} {url}: HTTP {response.status_code}")
        home = requests.get(base + "/", headers={"Host": host}, cookies={cookie: member_key}, timeout=30)
        css = [part.split('"')[0] for part in home.text.split('href="/static/')[1:] if ".css" in part.split('"')[0]]
        assert css and all(".css" in name and name.count(".") >= 2 for name in css), css  # hashed names (manifest)
        assert requests.get(f"{base}/static/{css[0]}", headers={"Host": host}, timeout=10).status_code == 200
        with requests.get(f"http://127.0.0.1:{live_port}/challenges/{challenge_id}/leaderboard/stream?seconds=1",
                          headers={"Host": host}, cookies={cookie: member_key}, stream=True, timeout=30) as stream:
            assert stream.status_code == 200
            assert next(stream.iter_lines(decode_unicode=True)).startswith("retry:")
    finally:
        web_log, live_log = _stop(web), _stop(live)
    assert problems == [], (problems, web_log)
    assert "Traceback" not in live_log, live_log


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_a_killed_web_worker_costs_one_worker_not_the_site(committed_org):
    """gunicorn's master runs gunicorn.conf.py's hooks; an exception in `child_exit` stopped the master (and
    so every worker) the moment one worker died. The Procfile's web line with the settings' default metrics
    directory (no PROMETHEUS_MULTIPROC_DIR in the environment, as on a plain host): kill -9 one worker."""
    web_port = free_port()
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({"DEBUG": "0", "PORT": str(web_port), "WEB_CONCURRENCY": "2", "WEB_THREADS": "2",
                "DJANGO_SETTINGS_MODULE": "savegame.settings", "REDIS_URL": settings.REDIS_URL,
                "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    host = f"{committed_org.slug}.{settings.BASE_DOMAIN}"
    web = _start(procfile()["web"], env)
    try:
        _wait_up(f"http://127.0.0.1:{web_port}/healthz", host, web)
        deadline = time.monotonic() + 30
        while len(workers := [p for p in _descendants(web.pid)
                              if "gunicorn" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]) < 3:
            assert time.monotonic() < deadline, "gunicorn's master and its 2 workers never showed"
            time.sleep(0.2)
        master = min(workers)  # the master is forked first: the lowest pid of the gunicorn processes
        victim = max(workers)
        os.kill(victim, signal.SIGKILL)
        time.sleep(3)
        assert web.poll() is None and Path(f"/proc/{master}").exists(), _stop(web)
        answers = [requests.get(f"http://127.0.0.1:{web_port}/healthz", headers={"Host": host}, timeout=5).status_code
                   for _ in range(6)]
        assert answers == [200] * 6
    finally:
        _stop(web)
