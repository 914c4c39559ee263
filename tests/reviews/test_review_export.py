"""Printing a review: the PDF is produced and its text contains the decisions; the Markdown
export carries the title, the figures, the factors, the decisions and the follow-ups."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reviews import review_export, review_selectors
from reviews.models import ContributingFactor, Review, StructuralDecision
from tests.factories import QuarterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(quarter: Any, leader: Any, key_result: Any) -> Review:
    later = QuarterFactory(name="2027 Q1", start=date(2027, 1, 1), end=date(2027, 3, 31))
    review = Review.objects.create(quarter=quarter)
    ContributingFactor.objects.create(
        review=review,
        text="Platform heard of the work in week 6",
        key_result=key_result,
        author=leader,
    )
    StructuralDecision.objects.create(
        review=review,
        what_changes="Dependency requests are made in week 0 with a named person",
        why="Requested too late — Zoë’s team had no room",
        owner=leader,
        takes_effect=later,
        success_check="No dependency requested after week 2",
        follow_up_on=later.start + timedelta(days=40),
        key_result=key_result,
        created_by=leader,
    )
    return review


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_is_produced_and_contains_the_decisions(
    client_for: Any, leader: Any, review: Review
) -> None:
    response = client_for(leader).get(reverse("reviews:review_export_pdf", args=[review.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(_text(response.content).split())
    assert "Dependency requests are made in week 0 with a named person" in text
    assert "No dependency requested after week 2" in text
    # Unicode (the vendored font): names and dashes survive.
    assert "Zoë’s team" in text
    assert "Platform heard of the work in week 6" in text


def test_the_uncompressed_pdf_carries_its_title_in_plain_bytes(review: Review) -> None:
    now = timezone.now()
    found = review_selectors.evidence(review, now=now, today=timezone.localdate(now))
    pdf = review_export.pdf(review, found, compress=False)
    assert pdf.startswith(b"%PDF")
    assert b"2026 Q4 review" in pdf  # the document's /Title


def test_the_markdown_export(client_for: Any, owner: Any, review: Review) -> None:
    response = client_for(owner).get(reverse("reviews:review_export_md", args=[review.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("# 2026 Q4 review: organisation")
    assert "- Accountability Test: " in text
    assert "- Surprise rate: " in text
    assert "### Dependency requests are made in week 0 with a named person" in text
    assert "- Owner: Lea Leader" in text
    assert "- Takes effect: 2027 Q1" in text
    assert "- How we will know it worked: No dependency requested after week 2" in text
    assert "- Platform heard of the work in week 6" in text


def test_exports_need_a_known_review(client_for: Any, owner: Any) -> None:
    assert (
        client_for(owner).get(reverse("reviews:review_export_md", args=[999999])).status_code == 404
    )
    assert (
        client_for(owner).get(reverse("reviews:review_export_pdf", args=[999999])).status_code
        == 404
    )
