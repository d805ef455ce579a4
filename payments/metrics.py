"""Scrape-time money gauges for /metrics: each organization's callback inbox depth, the age of its
oldest unprocessed row and its unmatched payments, read in one statement across every schema.

Organizations outside the top METRICS_TOP_ORGS are added up under "other" (depth and unmatched
summed, the oldest age the largest), so the label set stays bounded at any number of organizations.
"""

from __future__ import annotations

from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from savegame.metrics import org_label


def _schemas() -> list[str]:
    from tenants.selectors import organization_list

    return list(organization_list().values_list("schema_name", flat=True))


def per_schema(schemas: list[str], sql: str) -> dict[str, tuple]:
    """`sql` (a SELECT with `{schema}` where the schema goes) run for every schema in one UNION ALL
    statement: {schema: its row}."""
    if not schemas:
        return {}
    quote = connection.ops.quote_name
    parts = [f"SELECT %s, * FROM ({sql.format(schema=quote(s))}) AS t" for s in schemas]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), schemas)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def inbox_state() -> dict[str, tuple[int, float, int]]:
    """{schema: (unprocessed inbox rows, oldest unprocessed row's age in seconds, unmatched payments)}."""
    waiting = "FROM {schema}.payments_callbackinbox i WHERE i.state = 'received' AND i.kind <> 'validation'"
    rows = per_schema(_schemas(), f"SELECT (SELECT count(*) {waiting}),"
                                  f" (SELECT coalesce(extract(epoch FROM now() - min(i.received_at)), 0) {waiting}),"
                                  " (SELECT count(*) FROM {schema}.payments_transaction t WHERE t.status = 'unmatched')")
    return {schema: (int(depth), float(age), int(unmatched)) for schema, (depth, age, unmatched) in rows.items()}


class MoneyCollector:
    def collect(self):
        up = GaugeMetricFamily("savegame_money_metrics_up", "Whether the inbox gauges could be read.")
        try:
            state = inbox_state()
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        by_label: dict[str, list[float]] = {}
        for schema, (depth, age, unmatched) in state.items():
            totals = by_label.setdefault(org_label(schema), [0, 0.0, 0])
            totals[0] += depth
            totals[1] = max(totals[1], age)
            totals[2] += unmatched
        depth = GaugeMetricFamily("savegame_callback_inbox_depth", "Callbacks stored but not yet credited.",
                                  labels=["org"])
        oldest = GaugeMetricFamily("savegame_callback_inbox_oldest_age_seconds",
                                   "Age of the oldest callback not yet credited (0: none waiting).", labels=["org"])
        unmatched = GaugeMetricFamily("savegame_unmatched_payments", "Payments waiting for an admin to assign them.",
                                      labels=["org"])
        for label, (rows, age, waiting) in sorted(by_label.items()):
            depth.add_metric([label], rows)
            oldest.add_metric([label], age)
            unmatched.add_metric([label], waiting)
        up.add_metric([], 1)
        yield from (depth, oldest, unmatched, up)
