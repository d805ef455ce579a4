"""Alerts as code: the rules file is valid (promtool when installed, else parsed), every alert has a
runbook in docs/OPERATIONS.md, and the rules and the dashboard name only series the app exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
RULES_TEST = ROOT / "deploy" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "savegame.json"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"
REQUIRED = {  # the list, by the alert that covers it
    "no callbacks for an organization that normally has them": "SaveGameCallbacksStopped",
    "refused callbacks spike": "SaveGameRefusedCallbacksSpike",
    "inbox oldest row older than 2 minutes": "SaveGameInboxBehind",
    "drain or scoring failures": "SaveGamePaymentPipelineFailures",
    "5xx rate above 1%": "SaveGameHigh5xxRate",
    "p99 latency above 200 ms": "SaveGameHighP99Latency",
    "queue depth growing for 5 minutes": "SaveGameQueueGrowing",
    "reconciliation finding dropped callbacks": "SaveGameReconciliationFoundDroppedCallbacks",
    "worker missing": "SaveGameWorkerMissing",
    "beat missing": "SaveGameBeatMissing",
    "SMS provider failure rate": "SaveGameSmsProviderFailing",
}


def _alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def _exported_series() -> set[str]:
    """Every series name the app can export: the registered metrics and the scrape-time gauges."""
    from prometheus_client import REGISTRY

    import savegame.metrics  # noqa: F401  registers the metrics

    names = set()
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            names.add(family.name)
    for source in (ROOT / "savegame" / "metrics.py", ROOT / "payments" / "metrics.py"):
        names |= set(re.findall(r'GaugeMetricFamily\("(savegame_[a-z_]+)"', source.read_text()))
    names |= set(re.findall(r'(?:Counter|Gauge|Histogram)\("(savegame_[a-z_]+)"',
                            (ROOT / "savegame" / "metrics.py").read_text()))
    expanded = set()
    for name in names:
        base = name.removesuffix("_total")
        expanded |= {name, base + "_total", base + "_bucket", base + "_count", base + "_sum"}
    return expanded


def _series_in(expr: str) -> set[str]:
    return set(re.findall(r"\b(savegame_[a-z_]+)", expr))


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool not installed (Debian: apt install prometheus)")
def test_promtool_checks_the_rules_and_their_unit_tests():
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(["promtool", "test", "rules", RULES_TEST.name], cwd=RULES_TEST.parent,
                          capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout + unit.stderr


def test_every_rule_is_well_formed_and_has_a_runbook():
    operations = OPERATIONS.read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", line[4:].strip().lower()).replace(" ", "-")
               for line in operations.splitlines() if line.startswith("### ")}
    names = set()
    for rule in _alerts():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"] not in names, f"duplicate alert {rule['alert']}"
        names.add(rule["alert"])
        assert rule["expr"].strip() and rule["labels"]["severity"] in {"page", "ticket", "info"}
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule
        assert rule["annotations"]["summary"]
        runbook = rule["annotations"]["runbook_url"]
        assert runbook.startswith("docs/OPERATIONS.md#")
        assert runbook.split("#", 1)[1] in anchors, f"{rule['alert']}: no runbook section {runbook}"
        assert rule["alert"] in operations, f"{rule['alert']} not named in its runbook"
    assert set(REQUIRED.values()) <= names


def test_rules_and_dashboard_name_only_exported_series():
    exported = _exported_series()
    for rule in _alerts():
        missing = _series_in(rule["expr"]) - exported
        assert not missing, f"{rule['alert']} names {missing}"
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 25
    for expr in exprs:
        assert not (_series_in(expr) - exported), expr


def test_the_committed_dashboard_is_what_build_py_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("grafana_build", ROOT / "deploy" / "grafana" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(DASHBOARD.read_text()) == module.dashboard()
