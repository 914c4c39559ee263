from __future__ import annotations

from celery import shared_task

from objectives.reminders import definitions_remind


@shared_task(acks_late=True)
def definitions_remind_task() -> dict[str, int]:
    run = definitions_remind()
    return {
        "escalated": run.escalated,
        "notifications": run.notifications,
        "completed": run.completed,
    }


@shared_task(acks_late=True)
def definitions_refresh_task() -> dict[str, int]:
    """Nightly: recompute every open quarter's ``Objective.definition_shared`` from scratch.
    The signals keep it in the transaction of each change; this repairs the one drift they
    cannot see, two concurrent transactions (a full refresh beside a new reading), each
    blind to the other's rows. Idempotent: it writes only the flags that differ."""
    from django.db import transaction

    from objectives.definitions import refresh_shared

    with transaction.atomic():
        return {"objectives": len(refresh_shared())}
