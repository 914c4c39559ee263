"""``okrly.html`` escapes exactly as ``django.utils.html.format_html`` does: the tables built
with it would otherwise print what a person typed as markup."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from okrly.html import html, html_join

TEMPLATE = '<td class="{}" title="{}">{}</td>'

anything = st.one_of(
    st.text(),
    st.text().map(mark_safe),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.none(),
    st.booleans(),
)


@hsettings(derandomize=True)  # the same examples on every run: a failure reproduces
@given(st.tuples(anything, anything, anything))
def test_same_markup_as_format_html(args: tuple[Any, Any, Any]) -> None:
    ours = html(TEMPLATE, *args)
    assert ours == format_html(TEMPLATE, *args)
    assert isinstance(ours, SafeString)


@hsettings(derandomize=True)
@given(st.lists(st.tuples(anything, anything, anything), max_size=5))
def test_join_same_markup_as_format_html_join(rows: list[tuple[Any, Any, Any]]) -> None:
    assert html_join("", TEMPLATE, rows) == format_html_join("", TEMPLATE, rows)


def test_what_a_person_typed_is_escaped_and_safe_markup_is_kept() -> None:
    typed = '"><script>alert(1)</script>'
    out = html(TEMPLATE, typed, gettext_lazy("Owner <accepted>"), mark_safe("<b>ok</b>"))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "&quot;&gt;" in out
    assert "Owner &lt;accepted&gt;" in out
    assert "<b>ok</b>" in out
    assert html("{}", Decimal("12.50")) == "12.50"
