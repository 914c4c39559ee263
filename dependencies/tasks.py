from __future__ import annotations

from celery import shared_task

from dependencies.escalation import dependencies_escalate


@shared_task(acks_late=True)
def dependencies_escalate_task() -> dict[str, int]:
    """Beat runs this every 15 minutes; safe to run twice or on two workers at once."""
    run = dependencies_escalate()
    return {"escalated": run.escalated, "notifications": run.notifications}
