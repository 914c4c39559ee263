from __future__ import annotations

from celery import shared_task

from reviews import responses
from reviews.early_escalation_ladder import early_escalations_escalate
from reviews.response_ladders import responses_escalate


@shared_task(acks_late=True)
def early_escalations_escalate_task() -> dict[str, int]:
    """Beat runs this every 15 minutes; safe to run twice or on two workers at once."""
    run = early_escalations_escalate()
    return {"escalated": run.escalated, "notifications": run.notifications}


@shared_task(acks_late=True)
def responses_escalate_task() -> dict[str, int]:
    """Beat runs this every 15 minutes: both ladders of missed-commitment responses (not
    recorded in time; next step overdue). Safe to run twice or on two workers at once."""
    run = responses_escalate()
    return {"escalated": run.escalated, "notifications": run.notifications}


@shared_task(acks_late=True)
def responses_open_for_closed_quarters() -> dict[str, int]:
    """Beat runs this hourly: a response for every key result that ended a closed (or past)
    quarter missed. Idempotent: one response per key result and quarter, in the database."""
    return {"opened": responses.responses_open_for_closed_quarters()}
