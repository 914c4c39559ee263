"""How the pages write a metric's value: plain decimals, without trailing zeros."""

from __future__ import annotations

from decimal import Decimal


def plain_number(value: Decimal | int | None) -> str:
    """40.00 → "40", 1850 → "1850", 12.50 → "12.5"; "" for no value.

    ``Decimal.normalize()`` alone writes 40 as ``4E+1`` and 1850 as ``1.85E+3``; the "f"
    format keeps the normalised digits but never uses an exponent. Zero is "0", not "-0".
    """
    if value is None:
        return ""
    number = Decimal(value)
    if number.is_zero():
        return "0"
    return format(number.normalize(), "f")
