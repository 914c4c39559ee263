"""The response causes the issue names, and a first escalation norm, as admin-editable rows."""

from django.db import migrations

CAUSES = [
    "Capacity",
    "Dependency",
    "Priority changed",
    "Estimate wrong",
    "External",
    "Unclear ownership",
]

NORM = (
    "Escalate as soon as you see a risk you cannot remove yourself, not when it is already a "
    "miss. Ask the one person who can decide or help (your lead, the other team's lead, or the "
    "person whose decision you need), say what you need and by when. Expect an answer within "
    "two working days: a decision, concrete help, or the name of someone better placed. "
    "Raising an escalation early is what we expect; it never counts against you."
)


def add(apps, schema_editor):  # type: ignore[no-untyped-def]
    cause = apps.get_model("reviews", "ResponseCause")
    for position, name in enumerate(CAUSES, start=1):
        cause.objects.get_or_create(name=name, defaults={"position": position})
    norm = apps.get_model("reviews", "EscalationNorm")
    if not norm.objects.exists():
        norm.objects.create(text=NORM)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0003_responses_and_early_escalations")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
