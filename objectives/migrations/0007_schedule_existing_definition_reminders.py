"""Definition versions published before the acknowledgement ladder existed get its schedule,
so their missing readings are chased like new ones (the job finds the already-complete ones
complete on its first run and stops them)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.db.models import Max


def schedule(apps, schema_editor):  # type: ignore[no-untyped-def]
    version = apps.get_model("objectives", "DefinitionVersion")
    hours = list(settings.DEFINITION_ACK_RUNG_HOURS)
    if not hours:
        return
    wait = timedelta(days=settings.DEFINITION_ACK_DAYS, hours=hours[0])
    # Only each objective's current version of a quarter not closed: older versions are no
    # longer what anyone must read.
    latest = (
        version.objects.values("objective_id")
        .annotate(top=Max("number"))
        .values_list("objective_id", "top")
    )
    for objective_id, number in latest:
        row = (
            version.objects.filter(objective_id=objective_id, number=number)
            .exclude(objective__quarter__status="closed")
            .filter(next_escalation_at=None, escalation_rung=0)
            .first()
        )
        if row is not None:
            row.next_escalation_at = row.created_at + wait
            row.save(update_fields=["next_escalation_at"])


class Migration(migrations.Migration):
    dependencies = [("objectives", "0006_trade_off_categories")]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
