"""Copy each key result's latest check-in onto the key result (new columns in objectives)."""

from django.db import migrations


def backfill(apps, schema_editor):
    KeyResult = apps.get_model("objectives", "KeyResult")
    CheckIn = apps.get_model("checkins", "CheckIn")
    for kr in KeyResult.objects.all().iterator():
        latest = CheckIn.objects.filter(key_result=kr).order_by("-week").first()
        if latest is not None:
            KeyResult.objects.filter(pk=kr.pk).update(
                latest_checkin_week=latest.week,
                latest_checkin_status=latest.status,
                latest_checkin_confidence=latest.confidence,
                latest_forecast_flag=latest.forecast_flag,
            )


class Migration(migrations.Migration):
    dependencies = [
        ("checkins", "0001_initial"),
        ("objectives", "0002_latest_checkin"),
    ]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
