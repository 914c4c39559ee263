from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Nothing here: the current ownership.figures writes columns 0009 adds, and 0009 fills
    # every team's figures (a database that ran this before has its rows written again).
    return None


class Migration(migrations.Migration):
    dependencies = [
        ("ownership", "0007_team_figures"),
        ("checkins", "0003_risk_feed_indexes"),
        ("dependencies", "0003_overdue_escalated_indexes"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
