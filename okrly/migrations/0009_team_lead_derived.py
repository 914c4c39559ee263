from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def leads_become_memberships(apps: Any, schema_editor: Any) -> None:
    """Every named lead keeps leading: as a member with the lead role (a lead who was not a
    member saved without a word before). Then each team's lead is derived from those roles,
    as okrly.models.sync_team_leads does from now on."""
    team_model = apps.get_model("okrly", "Team")
    membership = apps.get_model("okrly", "Membership")
    for team_id, lead_id in team_model.objects.exclude(lead=None).values_list("pk", "lead_id"):
        membership.objects.update_or_create(
            team_id=team_id, user_id=lead_id, defaults={"role": "lead"}
        )
    first: dict[int, int] = {}
    rows = membership.objects.filter(role="lead").order_by("pk").values_list("team_id", "user_id")
    for team_id, user_id in rows:
        first.setdefault(team_id, user_id)
    for team_id, lead_id in team_model.objects.filter(lead=None).values_list("pk", "lead_id"):
        if team_id in first:
            team_model.objects.filter(pk=team_id).update(lead_id=first[team_id])


class Migration(migrations.Migration):
    dependencies = [
        ("okrly", "0008_one_active_quarter"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="team",
            name="lead",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                help_text="Derived: a member with the lead role (the longest-serving one).",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="led_teams",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(leads_become_memberships, migrations.RunPython.noop),
    ]
