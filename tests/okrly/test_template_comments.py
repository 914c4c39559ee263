"""Django's ``{# #}`` comment is one line only: spread over two it is printed as text (it once
showed "One form for every row's Nudge button …" on "Who owes what")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# An opening {# with no closing #} after it on the same line.
UNCLOSED = re.compile(r"\{#(?!.*#\})")


def test_no_template_opens_a_comment_it_does_not_close_on_the_same_line() -> None:
    files = sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
    assert len(files) > 20  # the walk found the templates
    unclosed = [
        f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if UNCLOSED.search(line)
    ]
    assert unclosed == [], "use {% comment %} … {% endcomment %} for a comment of several lines"


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_now")
def test_who_owes_what_shows_no_template_comment(
    client_for: Any, leader: Any, lead: Any, owner: Any, key_result: Any
) -> None:
    response = client_for(leader).get(reverse("reviews:people"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "people-table" in html  # the page's table was rendered
    assert "{#" not in html
    assert "#}" not in html
    assert "Nudge button" not in html
