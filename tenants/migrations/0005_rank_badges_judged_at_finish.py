""""Challenge champion" and "Podium finish" say "Finished ...", but their rule read the live rank, so
they were awarded mid-challenge. They now read the final rank, frozen at settlement. Rows an owner
has edited since the seed are left alone."""

from django.db import migrations

CHANGES = {
    "challenge-champion": ({"metric": "challenge_rank", "eq": 1}, {"metric": "challenge_final_rank", "eq": 1}),
    "podium": ({"all": [{"metric": "challenge_rank", "lte": 3}, {"metric": "challenge_saved", "gt": 0}]},
               {"all": [{"metric": "challenge_final_rank", "lte": 3}, {"metric": "challenge_saved", "gt": 0}]}),
}


def forward(apps, schema_editor, reverse=False):
    if schema_editor.connection.schema_name != "public":
        return
    SystemBadge = apps.get_model("tenants", "SystemBadge")
    for slug, (old, new) in CHANGES.items():
        if reverse:
            old, new = new, old
        SystemBadge.objects.filter(slug=slug, criteria=old).update(criteria=new)


def backward(apps, schema_editor):
    forward(apps, schema_editor, reverse=True)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_feature_phone_codes")]
    operations = [migrations.RunPython(forward, backward)]
