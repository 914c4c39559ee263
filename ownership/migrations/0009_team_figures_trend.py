from django.db import migrations, models


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Every team's figures again, the trend's check-ins and confidence with them (the
    # current ownership.figures; 0008 leaves the filling to this one).
    from ownership.figures import refresh_all

    refresh_all()


class Migration(migrations.Migration):
    dependencies = [("ownership", "0008_team_figures_fill")]

    operations = [
        migrations.AddField(
            model_name="teamfigures",
            name="checkins",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="teamfigures",
            name="confidence",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
