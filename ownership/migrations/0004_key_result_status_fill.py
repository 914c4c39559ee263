from django.db import migrations


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The rows of the key results that already exist, computed as the status module does.
    from ownership.status import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [
        ("ownership", "0003_key_result_status"),
        ("checkins", "0002_backfill_latest_checkin"),
        ("dependencies", "0001_initial"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
