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
