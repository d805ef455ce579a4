"""The CI/CD workflow users copy, and the smoke test it ends with (run here against a live server)."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _workflow() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def test_the_workflow_tests_on_postgres_and_redis_then_builds_deploys_and_smokes():
    jobs = _workflow()["jobs"]
    assert list(jobs) == ["test", "build", "deploy", "smoke"]
    assert {"postgres", "redis"} <= set(jobs["test"]["services"])
    assert jobs["build"]["needs"] == "test" and jobs["deploy"]["needs"] == "build" and jobs["smoke"]["needs"] == "deploy"
    for job in jobs.values():
        assert all("run" in step or "uses" in step for step in job["steps"])
    test_runs = " ".join(step.get("run", "") for step in jobs["test"]["steps"])
    assert "pip install -r requirements.txt" in test_runs and "pytest" in test_runs
    deploy = [step.get("run", "") for step in jobs["deploy"]["steps"]]
    release = next(i for i, run in enumerate(deploy) if "^release: " in run)
    assert "systemctl restart" in deploy[release] and deploy[release].index("release") < deploy[release].index("restart")
    assert any("deploy/smoke.py" in step.get("run", "") for step in jobs["smoke"]["steps"])


def _smoke_module():
    spec = importlib.util.spec_from_file_location("smoke", ROOT / "deploy" / "smoke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_passes_against_a_live_site(live_org, django_db_blocker, settings, capsys, monkeypatch):
    """deploy/smoke.py over real HTTP: readyz, an OTP login read from the SMS file, a payment credited."""
    from django.core.management import call_command

    from savegame.celery import app
    from tests.payments.live import live_server

    organization, member, _token = live_org
    settings.PAYMENTS_KICK_COALESCE_MS = 0
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the login code and the drain run in the server's request threads
    sms_file = Path(settings.SMS_FILE_PATH)
    try:
        with django_db_blocker.unblock(), live_server() as port:
            base = f"http://{organization.slug}.localhost:{port}"
            # what `make smoke` reads: the confirmation path and the organization's own Paybill (a
            # foreign one is refused, issue 14.8) from `manage.py mpesa_urls`
            out = io.StringIO()
            call_command("mpesa_urls", org=organization.slug, stdout=out)
            urls = json.loads(out.getvalue())
            assert urls["shortcode"]
            path = urls["confirmation"].split("/hooks/", 1)[1]
            _smoke_module().smoke(url=base, phone=member.phone_number, sms_file=sms_file,
                                  callback_url=f"{base}/hooks/{path}", timeout=30, shortcode=urls["shortcode"])
    finally:
        app.conf.task_always_eager = previous
    out = capsys.readouterr().out
    assert "smoke test passed" in out and "FAIL" not in out


@pytest.mark.django_db
def test_smoke_fails_loudly_when_the_site_is_not_ready(monkeypatch, capsys):
    smoke = _smoke_module()
    monkeypatch.setattr(smoke, "_call", lambda *a, **k: (503, {"failing": ["redis"]}))
    with pytest.raises(SystemExit) as exit_info:
        smoke.smoke(url="http://nowhere.localhost:1", phone="+254700000011", sms_file=Path("/nonexistent"),
                    callback_url="", timeout=1, shortcode="600999")
    assert exit_info.value.code == 1
    assert "FAIL readyz: ['redis']" in capsys.readouterr().out
