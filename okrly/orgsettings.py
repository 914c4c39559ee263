"""Settings the organisation changes by its own decisions.

A structural decision of a quarterly review (reviews app) may change the objective limit, the
hours an early escalation has to be answered in, or the days a missed commitment's response
has to be recorded in. From the moment it takes effect the new value lives in an
``OrgSetting`` row and overrides the environment's; code that reads such a setting asks
``value(name)`` instead of ``settings.NAME``.
"""

from __future__ import annotations

from django.conf import settings

from okrly.models import OrgSetting

# The settings a decision may change: name -> (label, lowest, highest).
ADJUSTABLE: dict[str, tuple[str, int, int]] = {
    "OBJECTIVE_LIMIT_DEFAULT": ("Objectives per team and quarter", 1, 20),
    "KEY_RESULT_LIMIT_DEFAULT": ("Key results per objective", 1, 20),
    "ESCALATION_ANSWER_HOURS": ("Working hours to answer an early escalation", 1, 500),
    "RESPONSE_DAYS": ("Working days to record a response to a miss", 1, 60),
}


def value(name: str) -> int:
    """The organisation's value for ``name``: a decision's, else the environment's."""
    row = OrgSetting.objects.filter(name=name).values_list("value", flat=True).first()
    return int(row) if row is not None else int(getattr(settings, name))
