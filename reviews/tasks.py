from __future__ import annotations

from celery import shared_task

from reviews import responses
from reviews.digest import leaders_send_digests
from reviews.early_escalation_ladder import early_escalations_escalate
from reviews.grade_ladder import grades_remind
from reviews.lifecycle import quarters_start_reviewing_due
from reviews.response_ladders import responses_escalate
from reviews.snapshots import headlines_snapshot
from reviews.team_digest import teams_post_digests


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


@shared_task(acks_late=True)
def quarters_start_reviewing_task() -> dict[str, int]:
    """Beat runs this every 15 minutes: active quarters whose last day has come start
    reviewing. A conditional update: a rerun or a second worker changes nothing."""
    run = quarters_start_reviewing_due()
    return {"quarters": run.quarters, "grades": run.grades, "notifications": run.notifications}


@shared_task(acks_late=True)
def grades_remind_task() -> dict[str, int]:
    """Beat runs this every 15 minutes: the ladder of key results still ungraded."""
    run = grades_remind()
    return {"escalated": run.escalated, "notifications": run.notifications}


@shared_task(acks_late=True)
def decisions_apply_due_task() -> dict[str, int]:
    """Beat runs this every 15 minutes: the settings of structural decisions whose quarter has
    started are applied and logged, once each (locked rows are skipped, applied_at set)."""
    from reviews.review_services import decisions_apply_due

    return {"applied": decisions_apply_due()}


@shared_task(acks_late=True)
def leaders_send_digests_task() -> dict[str, int]:
    """Beat runs this every 15 minutes; a unique (leader, Monday) row makes it safe to run
    twice or on two workers at once."""
    run = leaders_send_digests()
    return {"sent": run.sent, "quiet": run.quiet, "already": run.already}


@shared_task(acks_late=True)
def teams_post_digests_task() -> dict[str, int]:
    """Beat runs this hourly: each team's weekly digest to its Slack and Teams channels once
    the week's check-in deadline has passed; a unique (team, quarter, week) row makes it safe
    to run twice or on two workers at once."""
    run = teams_post_digests()
    return {"posted": run.posted, "already": run.already}


@shared_task(acks_late=True)
def headlines_snapshot_task() -> dict[str, int]:
    """Beat runs this every 15 minutes: the current week's headline row, rewritten."""
    return {"written": headlines_snapshot()}
