from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The new columns of the rows that already exist.
    from ownership.status import refresh_all

    # Not the team figures: their table comes in 0007 (0008 fills it).
    refresh_all(with_figures=False)


class Migration(migrations.Migration):
    dependencies = [
        ("ownership", "0005_key_result_status_flags"),
        ("checkins", "0002_backfill_latest_checkin"),
        ("dependencies", "0001_initial"),
        ("objectives", "0009_objective_definition_shared"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
