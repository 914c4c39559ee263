"""Numbers read from a request, checked against the column they are meant for.

One parser for every integer in a query string or a form post (``?week=``, ``?team=``,
``?quarter=``, ``?kr=``, ``person=``, ``item=``): Django's own ``forms.IntegerField``, so "²"
(which ``str.isdigit()`` accepts and ``int()`` refuses) or a 20-digit id is answered with a
message instead of reaching ``int()`` or the database. Ranges are the columns' declared
ranges (smallint, bigint), the same on every database: SQLite would store what PostgreSQL
refuses, and a test must fail the same way on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import BadRequest as DjangoBadRequest
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.http import Http404

from okrly.errors import RuleBroken

# Primary keys are bigint (DEFAULT_AUTO_FIELD): a larger id names no row.
ID_MAX = BaseDatabaseOperations.integer_field_ranges["BigIntegerField"][1]


class BadParameter(RuleBroken, DjangoBadRequest):
    """A malformed parameter. Also Django's BadRequest, so a page answers 400; the API's
    exception handler answers 400 with the message beside the parameter's name."""


def column_range(model: type[models.Model], field_name: str) -> tuple[int, int]:
    """The declared range of an integer column (PostgreSQL's, which SQLite does not enforce)."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.Field)
    low, high = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
    return low, high


def decimal_limits(model: type[models.Model], field_name: str) -> tuple[Decimal, int]:
    """The largest magnitude a decimal column holds and its number of decimal places:
    ``numeric(14, 2)`` holds up to 999,999,999,999.99, in hundredths."""
    field = model._meta.get_field(field_name)
    assert isinstance(field, models.DecimalField)
    places = field.decimal_places or 0
    digits = field.max_digits or 0
    return Decimal(10) ** (digits - places) - Decimal(10) ** -places, places


def int_param(
    params: Mapping[str, Any],
    name: str,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    label: str | None = None,
    not_found: bool = False,
) -> int | None:
    """The whole number in ``params[name]``; None when absent or blank.

    A value that is not a whole number in range raises ``BadParameter`` (400) with a message
    naming the parameter; with ``not_found`` (an id on a page), ``Http404`` instead: an id
    that cannot be stored names nothing.
    """
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    field = forms.IntegerField(min_value=min_value, max_value=max_value)
    try:
        value: int = field.clean(raw)
    except forms.ValidationError as error:
        what = label or name
        if not_found:
            raise Http404(f"No such {what}.") from None
        raise BadParameter(
            f"{what} must be a whole number{_range(min_value, max_value)} "
            f"({' '.join(error.messages)})",
            field=name,
        ) from None
    return value


def id_param(
    params: Mapping[str, Any], name: str, *, label: str | None = None, not_found: bool = False
) -> int | None:
    """A row's id (1 to the bigint maximum); messages say "a number (an id)"."""
    raw = params.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return int_param(
            params, name, min_value=1, max_value=ID_MAX, label=label, not_found=not_found
        )
    except BadParameter:
        raise BadParameter(f"{label or name} must be a number (an id).", field=name) from None


def id_list_param(params: Any, name: str, *, label: str | None = None) -> list[int]:
    """Every id given as ``name`` (``?kr=1&kr=2``); a malformed one is 404: it names nothing."""
    return [
        pk
        for raw in params.getlist(name)
        if (pk := id_param({name: raw}, name, label=label, not_found=True)) is not None
    ]


def _range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    if high is not None:
        return f" of at most {high}"
    return ""
