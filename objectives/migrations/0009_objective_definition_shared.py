"""Objective.definition_shared: rule 9's "shared", kept on the row for the dashboard, and
filled for the objectives that exist (every quarter's, closed ones included, so no row
starts wrong)."""

from django.db import migrations, models


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # The module's own computation, so the flag means exactly what the pages show. It reads
    # named columns only (values_list, only()), so later columns of these tables do not
    # break it; the dependencies app's teams come through the registry, ready by now.
    from objectives.definitions import refresh_shared

    objective = apps.get_model("objectives", "Objective")
    ids = list(objective.objects.values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        refresh_shared(ids[start : start + 2000])


class Migration(migrations.Migration):
    dependencies = [
        ("objectives", "0008_carried_from"),
        ("dependencies", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="objective",
            name="definition_shared",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
