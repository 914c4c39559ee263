from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Every key result's item from the signals already there (one row per key result).
    from reviews.risks import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0009_risk_items"),
        ("checkins", "0005_checkin_thread"),
        ("dependencies", "0003_overdue_escalated_indexes"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
