from __future__ import annotations

from celery import shared_task

from checkins.missed import checkins_escalate_missed
from checkins.prompts import checkins_send_prompts


@shared_task(acks_late=True)
def checkins_send_prompts_task() -> dict[str, int]:
    run = checkins_send_prompts()
    return {"prompts": run.prompts, "batches": run.batches}


@shared_task(acks_late=True)
def checkins_escalate_missed_task() -> dict[str, int]:
    run = checkins_escalate_missed()
    return {"escalated": run.escalated, "completed": run.completed}
