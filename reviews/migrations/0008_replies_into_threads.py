"""Leaders' replies to check-ins become entries of the check-ins' threads (issue 15): each
reply is kept, as written, by a leader, then the old table goes."""

from typing import Any

from django.db import migrations


def replies_into_threads(apps: Any, schema_editor: Any) -> None:
    reply = apps.get_model("reviews", "CheckInAcknowledgement")
    comment = apps.get_model("checkins", "CheckInComment")
    comment.objects.bulk_create(
        [
            comment(
                check_in_id=row.check_in_id,
                author_id=row.leader_id,
                body=row.reply,
                seen=False,
                by_leader=True,
                created_at=row.created_at,
            )
            for row in reply.objects.all().iterator()
        ],
        batch_size=1000,
    )


def threads_into_replies(apps: Any, schema_editor: Any) -> None:
    reply = apps.get_model("reviews", "CheckInAcknowledgement")
    comment = apps.get_model("checkins", "CheckInComment")
    for row in comment.objects.filter(by_leader=True).exclude(body="").iterator():
        reply.objects.create(
            check_in_id=row.check_in_id,
            leader_id=row.author_id,
            reply=row.body,
            created_at=row.created_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0007_risk_feed_indexes"),
        ("checkins", "0005_checkin_thread"),
    ]

    operations = [
        migrations.RunPython(replies_into_threads, threads_into_replies),
        migrations.DeleteModel(name="CheckInAcknowledgement"),
    ]
