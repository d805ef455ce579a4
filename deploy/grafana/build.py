"""Writes deploy/grafana/savegame.json (the committed, importable dashboard): `python deploy/grafana/build.py`.

Panels are listed once here so the JSON stays consistent; tests/ops/test_alerts.py checks that every
expression names series the app exports.
"""

from __future__ import annotations

import json
from pathlib import Path

ROWS = [
    ("Money", [
        ("Callbacks stored / min by org", "sum by (org) (rate(savegame_callbacks_stored_total[5m])) * 60", "short"),
        ("Webhook success rate", "sum(rate(savegame_callbacks_stored_total[15m])) / "
         "(sum(rate(savegame_callbacks_stored_total[15m])) + sum(rate(savegame_callbacks_refused_total[15m])))",
         "percentunit"),
        ("Refused callbacks by reason", "sum by (reason) (increase(savegame_callbacks_refused_total[15m]))", "short"),
        ("Inbox oldest uncredited row", "max by (org) (savegame_callback_inbox_oldest_age_seconds)", "s"),
        ("Inbox depth", "sum by (org) (savegame_callback_inbox_depth)", "short"),
        ("Unmatched payments", "sum by (org) (savegame_unmatched_payments)", "short"),
        ("Callback → credited p50 / p99", "histogram_quantile(0.99, sum by (le) "
         "(rate(savegame_callback_to_credited_seconds_bucket[5m])))", "s"),
        ("Credited → scored p99", "histogram_quantile(0.99, sum by (le) "
         "(rate(savegame_credited_to_scored_seconds_bucket[5m])))", "s"),
        ("Credits by status", "sum by (status) (rate(savegame_deposits_credited_total[5m])) * 60", "short"),
        ("Reconciliation outcomes", "sum by (check, outcome) (increase(savegame_reconciliation_outcomes_total[1h]))",
         "short"),
        ("Pipeline failures", "sum by (stage) (increase(savegame_payment_pipeline_failures_total[15m]))", "short"),
        ("Suspicious findings", "sum by (rule) (increase(savegame_suspicious_findings_total[1d]))", "short"),
    ]),
    ("Web", [
        ("Requests / s by status", "sum by (status) (rate(savegame_http_requests_total[5m]))", "reqps"),
        ("5xx by route", "sum by (route) (rate(savegame_http_requests_total{status=\"5xx\"}[5m]))", "reqps"),
        ("p99 by route", "histogram_quantile(0.99, sum by (le, route) "
         "(rate(savegame_http_request_duration_seconds_bucket[5m])))", "s"),
        ("In flight", "sum(savegame_http_requests_in_flight)", "short"),
        ("Live streams open", "sum(savegame_live_streams_open)", "short"),
    ]),
    ("Workers", [
        ("Queue depth", "savegame_celery_queue_depth", "short"),
        ("Tasks / min by outcome", "sum by (task, state) (rate(savegame_celery_tasks_total[5m])) * 60", "short"),
        ("Task p95 runtime", "histogram_quantile(0.95, sum by (le, task) "
         "(rate(savegame_celery_task_duration_seconds_bucket[5m])))", "s"),
        ("Workers alive", "savegame_workers_alive", "short"),
        ("Beat last tick", "savegame_beat_tick_age_seconds", "s"),
        ("Beat: time since each periodic task", "time() - savegame_beat_last_run_timestamp_seconds", "s"),
    ]),
    ("Messages and game", [
        ("Messages by outcome", "sum by (channel, outcome) (rate(savegame_messages_total[15m])) * 60", "short"),
        ("Provider p95", "histogram_quantile(0.95, sum by (le, channel) "
         "(rate(savegame_message_provider_seconds_bucket[5m])))", "s"),
        ("Deposits scored / min", "sum by (org) (rate(savegame_deposits_scored_total[5m])) * 60", "short"),
        ("Badges awarded / h", "sum by (org) (increase(savegame_badges_awarded_total[1h]))", "short"),
        ("Leaderboard rebuilds", "sum(increase(savegame_leaderboard_rebuilds_total[1h]))", "short"),
    ]),
]


def dashboard() -> dict:
    panels, y, next_id = [], 0, 1
    for title, row in ROWS:
        panels.append({"type": "row", "title": title, "id": next_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id, y = next_id + 1, y + 1
        for index, (name, expr, unit) in enumerate(row):
            panels.append({
                "type": "timeseries", "title": name, "id": next_id, "datasource": {"uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 8, "x": (index % 3) * 8, "y": y + (index // 3) * 8},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [{"refId": "A", "expr": expr, "datasource": {"uid": "${datasource}"}}],
            })
            next_id += 1
        y += ((len(row) + 2) // 3) * 8
    return {
        "title": "SaveGame", "uid": "savegame-ops", "schemaVersion": 39, "version": 1, "editable": True,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "tags": ["savegame"],
        "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus",
                                 "label": "Prometheus"}]},
        "annotations": {"list": []}, "panels": panels,
    }


if __name__ == "__main__":
    Path(__file__).with_name("savegame.json").write_text(json.dumps(dashboard(), indent=2) + "\n")
