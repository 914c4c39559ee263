from __future__ import annotations

from celery import shared_task
from django.db import transaction

from ownership.status import refresh_due


@shared_task(acks_late=True)
def statuses_refresh_task() -> dict[str, int]:
    """The key-result status rows whose date has come (issue 14). Idempotent: a rewrite of a
    row from what the database holds gives the same row, so two beats firing do no harm."""
    with transaction.atomic():
        return {"refreshed": refresh_due()}
