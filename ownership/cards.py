"""Ownership's part of My week: on a card whose owner has not accepted, the Accept/Decline
panel comes first, before the check-in form (rule 2: ownership is accepted, not assigned).

One query for all the cards (their status rows); registered as a card action."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token

from okrly import access
from okrly.html import csrf_input, html
from okrly.links import link
from ownership.models import KeyResultStatus


def acceptance_panel(pk: int, token: str, declined: bool) -> str:
    said = (
        "You declined to own this key result; your team lead is asked to nominate someone "
        "else. Until then it is yours, and it fails the Accountability Test. Changed your mind?"
        if declined
        else "You are named as its owner but have not accepted yet. Accept before you check "
        "in: until its owner accepts, it fails the Accountability Test whatever its progress."
    )
    accept, decline = link("ownership:accept", pk), link("ownership:decline", pk)
    return html(
        '<div class="accept-panel" id="accept-{0}" role="group" aria-labelledby="accept-{0}-title">'
        '<h4 id="accept-{0}-title">Will you own this key result?</h4><p>{1}</p>'
        '<div class="action-row"><form method="post" action="{2}" hx-post="{2}" '
        'hx-target="#accept-{0}" hx-swap="outerHTML">{3}'
        '<input type="hidden" name="from" value="myweek">'
        '<button type="submit">Accept ownership</button></form></div>'
        "{4}</div>",
        pk,
        said,
        accept,
        csrf_input(token),
        html(
            '<details><summary>Decline ownership</summary><form method="post" action="{0}" '
            'hx-post="{0}" hx-target="#accept-{1}" hx-swap="outerHTML">{2}'
            '<input type="hidden" name="from" value="myweek">'
            '<label for="decline-{1}-reason">Why can\'t you own it? (required)</label>'
            '<textarea name="decline-reason" id="decline-{1}-reason" rows="2" required '
            'aria-required="true"></textarea>'
            '<button type="submit" class="contrast">Decline</button></form></details>',
            decline,
            pk,
            csrf_input(token),
        )
        if not declined
        else "",
    )


def my_week_card_actions(request: HttpRequest, key_results: list[Any]) -> dict[int, str]:
    """The panel on each card its viewer is asked to accept (the service's own predicate)."""
    ids = [kr.pk for kr in key_results if kr.displaced_by_id is None]
    if not ids:
        return {}
    user: Any = request.user
    rows = KeyResultStatus.objects.filter(key_result_id__in=ids).values_list(
        "key_result_id", "owner_id", "accepted", "declined", "pending_to_id"
    )
    token = get_token(request)
    return {
        pk: acceptance_panel(pk, token, declined)
        for pk, owner_id, accepted, declined, pending_to_id in rows
        if access.can_answer_ownership(
            user, owner_id=owner_id, nominee_id=pending_to_id, accepted=accepted
        )
    }
