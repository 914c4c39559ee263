"""The trade-off categories the issue names, as admin-editable rows."""

from django.db import migrations

CATEGORIES = [
    "Client escalation",
    "New opportunity",
    "Incident",
    "Regulatory",
    "Leadership request",
]


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    category = apps.get_model("objectives", "TradeOffCategory")
    for position, name in enumerate(CATEGORIES, start=1):
        category.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("objectives", "0005_limits_and_trade_offs")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
