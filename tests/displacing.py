"""One trade-off that drops a key result, through the real service (objectives.tradeoffs):
the tests that check each count leaves a displaced key result out share it."""

from __future__ import annotations

from typing import Any

from objectives import tradeoffs
from objectives.models import Displacement, TradeOff, TradeOffCategory
from objectives.tradeoffs import Displace


def drop(lead: Any, *items: Any, title: str = "Keep Acme from churning") -> TradeOff:
    """``lead`` decides a trade-off for the items' team that drops them and adds an objective
    (the key results are refreshed: ``displaced_by`` is set by an update)."""
    objective = getattr(items[0], "objective", items[0])
    trade_off = tradeoffs.trade_off_decide(
        user=lead,
        team=objective.team,
        quarter=objective.quarter,
        category=TradeOffCategory.objects.get_or_create(name="Client escalation")[0],
        reason="Acme threatens to leave over SSO.",
        displaced=[Displace(item, Displacement.Action.DROPPED) for item in items],
        addition={"kind": "objective", "title": title, "means": "Fix SSO for Acme."},
    )
    assert trade_off.status == TradeOff.Status.DECIDED
    for item in items:
        item.refresh_from_db()
        assert item.displaced_by_id == trade_off.pk
    return trade_off
