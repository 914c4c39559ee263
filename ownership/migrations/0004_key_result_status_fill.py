from django.db import migrations


class Migration(migrations.Migration):
    # Once filled the rows here; the fill moved to 0006, after the columns 0005 adds (a fill
    # runs the current ownership.status, which writes every column the model has now).
    dependencies = [
        ("ownership", "0003_key_result_status"),
        ("checkins", "0002_backfill_latest_checkin"),
        ("dependencies", "0001_initial"),
    ]

    operations: list[migrations.operations.base.Operation] = []
