"""The starting catalogue of decision rights; admins edit it afterwards."""

from django.db import migrations

RIGHTS = [
    ("Reprioritise the team's backlog", "Reorder and drop the team's work to serve the key result."),
    ("Spend up to an amount", "Commit budget up to the amount written in the scope."),
    ("Change initiatives", "Start, stop or replace the initiatives behind the key result."),
    ("Ask other teams directly", "Request work from other teams without going through leads."),
    ("Make hiring decisions", "Open roles or pick contractors within the scope."),
]


def add(apps, schema_editor):
    DecisionRight = apps.get_model("ownership", "DecisionRight")
    for position, (name, description) in enumerate(RIGHTS):
        DecisionRight.objects.get_or_create(
            name=name, defaults={"description": description, "position": position}
        )


def remove(apps, schema_editor):
    apps.get_model("ownership", "DecisionRight").objects.filter(
        name__in=[n for n, _ in RIGHTS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("ownership", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
