from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("okrly", "0003_checkin_labels")]

    operations = [
        migrations.AddField(
            model_name="team",
            name="objective_limit",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Objectives per quarter (empty: the default, 3); a quarter's limit overrides it.",
                null=True,
                verbose_name="objective limit",
            ),
        ),
        migrations.AddField(
            model_name="quarter",
            name="objective_limit",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Overrides each team's objective limit this quarter; empty keeps them.",
                null=True,
                verbose_name="objective limit for every team",
            ),
        ),
    ]
