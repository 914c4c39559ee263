"""One measured figure with its bar, as every part of ``make bench`` reports it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    section: str  # "1× pages", "10× pages", "scale", "mixed load", "jobs"
    name: str  # what was measured, e.g. "organisation median ×/ping/"
    value: float
    unit: str  # "×", "ms", "s", "queries", "/s", ""
    bar: str  # the bar as words, e.g. "≤ 6×"; "" when only reported
    passed: bool | None  # None when only reported

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")


def print_figures(figures: list[Figure]) -> bool:
    """Prints the figures as a table, by section; True when no bar was missed."""
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            print(f"\n{section}")
            print(f"  {'figure':<52} {'value':>12}  {'bar':<14} verdict")
        value = f"{f.value:,.2f}{f.unit}" if f.unit else f"{f.value:,.2f}"
        print(f"  {f.name:<52} {value:>12}  {f.bar:<14} {f.verdict}")
    return all(f.passed is not False for f in figures)
