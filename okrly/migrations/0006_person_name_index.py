"""The people view's order (first name, last name, username) of active people as an index
(issue 14): the view walks it with a LIMIT and stops after a page, instead of sorting
everyone. The user table is django.contrib.auth's, so the index is created here, by SQL
that PostgreSQL and SQLite both run."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("okrly", "0005_org_settings_and_reviewing"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS person_name "
                "ON auth_user (first_name, last_name, username) WHERE is_active"
            ),
            reverse_sql="DROP INDEX IF EXISTS person_name",
        ),
    ]
