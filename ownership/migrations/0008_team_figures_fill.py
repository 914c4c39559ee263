from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Every team's figures from the status rows there are (the current ownership.figures).
    from ownership.figures import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [
        ("ownership", "0007_team_figures"),
        ("checkins", "0003_risk_feed_indexes"),
        ("dependencies", "0003_overdue_escalated_indexes"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
