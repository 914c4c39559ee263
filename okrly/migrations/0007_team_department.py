"""Team.department: the top of each team's tree, for the dashboard's per-department sums."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    """The historical model has no TeamQuerySet: the same walk, written for it."""
    Team = apps.get_model("okrly", "Team")
    parent = dict(Team.objects.order_by().values_list("pk", "parent_id"))
    by_root: dict[int, list[int]] = {}
    for pk in parent:
        node, seen = pk, {pk}
        while parent.get(node) is not None and parent[node] not in seen:
            node = parent[node]
            seen.add(node)
        by_root.setdefault(node, []).append(pk)
    for root, pks in by_root.items():
        Team.objects.filter(pk__in=pks).update(department_id=root)


class Migration(migrations.Migration):
    dependencies = [
        ("okrly", "0006_person_name_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="department",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="okrly.team",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
