"""One guard for the payments -> game hand-over (issue 15 item 5): the game's challenges.ScoredDeposit.

payments.DepositScore was written in the same transaction as ScoredDeposit for every deposit handed
over, so every scored deposit already has its ScoredDeposit row; any DepositScore row without one
(none is expected) is copied across before the table is dropped, so no deposit is scored twice.
"""

from django.db import migrations


def copy_guard_rows(apps, schema_editor):
    schema_editor.execute(
        "INSERT INTO challenges_scoreddeposit (transaction_id, scored_at) "
        "SELECT transaction_id, scored_at FROM payments_depositscore ON CONFLICT (transaction_id) DO NOTHING")


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_manual_deposits"),
        ("challenges", "0004_member_metrics"),
    ]

    operations = [
        migrations.RunPython(copy_guard_rows, migrations.RunPython.noop),
        migrations.DeleteModel(name="DepositScore"),
    ]
