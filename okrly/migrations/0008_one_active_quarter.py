from typing import Any

from django.db import migrations, models


def refuse_several_active(apps: Any, schema_editor: Any) -> None:
    """Stop with the quarters' names rather than an integrity error: which one stays active
    is the organisation's choice, not the migration's."""
    quarter = apps.get_model("okrly", "Quarter")
    active = list(quarter.objects.filter(status="active").order_by("start").values_list("name"))
    if len(active) > 1:
        names = ", ".join(name for (name,) in active)
        raise RuntimeError(
            f"Several quarters are active ({names}); only one may be. Set the others to "
            "reviewing or closed in the admin, then run the migration again."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("okrly", "0007_team_department"),
    ]

    operations = [
        migrations.RunPython(refuse_several_active, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="quarter",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("status",),
                name="one_active_quarter",
                violation_error_message="Another quarter is already active; "
                "close or review it first.",
            ),
        ),
    ]
