# Issue 15 item 3: outcomes and participation are the game's participations
# (challenges.selectors.participation_outcomes); the ledger-derived columns they replaced go.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0002_saver_summary"),
    ]

    operations = [
        migrations.RemoveField(model_name="saversummary", name="in_challenge"),
        migrations.RemoveField(model_name="saversummary", name="saved"),
    ]
