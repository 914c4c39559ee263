"""A review as a document people can keep: Markdown and PDF (fpdf2, pure Python, with the
vendored DejaVu Sans so names and dashes in any language print). Both carry the title, the
evidence figures, the contributing factors, the structural decisions (what, why, owner, when
it takes effect, how we will know it worked) and last quarter's follow-ups."""

from __future__ import annotations

from pathlib import Path

from django.utils.text import slugify
from fpdf import FPDF

from okrly.models import display_name
from reviews.models import Review
from reviews.review_selectors import Evidence

FONTS = Path(__file__).resolve().parent / "fonts"


def filename(review: Review) -> str:
    return "okrly-review-" + slugify(f"{review.quarter.name} {review.team or 'organisation'}")


def _pct(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def title(review: Review) -> str:
    return f"{review.quarter.name} review: {review.team.name if review.team else 'organisation'}"


def figures(ev: Evidence) -> list[tuple[str, str]]:
    h = ev.headline
    average = None if ev.average_score is None else round(100 * ev.average_score)
    lead = h.median_lead_weeks
    return [
        ("Average score", _pct(average)),
        ("Key results", str(h.key_results)),
        ("Check-in completion", f"{h.completion}%"),
        ("Missed commitments", str(h.misses)),
        ("Surprise rate", _pct(h.surprise_percent)),
        ("Signal lead time (median weeks)", "—" if lead is None else str(lead)),
        ("Responses on time", _pct(h.responses_on_time_percent)),
        ("Trade-offs", str(len(ev.trade_offs))),
        ("Early escalations", str(len(ev.escalations))),
        (
            "Accountability Test",
            f"{ev.accountability_passed} of {ev.accountability_total} key results pass",
        ),
    ]


def _decision_lines(d: object) -> list[str]:
    return [
        f"Why: {d.why}",  # type: ignore[attr-defined]
        f"Owner: {display_name(d.owner)}",  # type: ignore[attr-defined]
        f"Takes effect: {d.takes_effect.name}",  # type: ignore[attr-defined]
        f"How we will know it worked: {d.success_check}",  # type: ignore[attr-defined]
        f"Follow-up on: {d.follow_up_on.isoformat()}",  # type: ignore[attr-defined]
    ]


def _follow_up_text(d: object) -> str:
    done = getattr(d, "follow_up", None)
    return f"{done.get_verdict_display()}: {done.note}" if done is not None else "Not marked yet"


def markdown(review: Review, ev: Evidence) -> str:
    out = [f"# {title(review)}", "", f"Status: {review.get_status_display()}", ""]
    out += ["## Evidence", ""] + [f"- {label}: {value}" for label, value in figures(ev)] + [""]
    if ev.grades:
        out += ["### Grades by team", "", "| Team | Achieved | Partly | Missed | Displaced |"]
        out += ["|---|---|---|---|---|"]
        out += [
            f"| {g.team} | {g.achieved} | {g.partly} | {g.missed} | {g.displaced} |"
            for g in ev.grades
        ] + [""]
    out += ["## Last quarter's decisions", ""]
    out += [f"- {d.what_changes} — {_follow_up_text(d)}" for d in ev.previous] or ["None."]
    out += ["", "## Contributing factors", ""]
    out += [f"- {f.text}" for f in ev.factors] or ["None yet."]
    out += ["", "## Structural decisions", ""]
    for d in ev.decisions:
        out += [f"### {d.what_changes}", ""] + [f"- {line}" for line in _decision_lines(d)] + [""]
    if not ev.decisions:
        out += ["None yet.", ""]
    return "\n".join(out)


def pdf(review: Review, ev: Evidence, *, compress: bool = True) -> bytes:
    doc = FPDF()
    doc.set_compression(compress)
    doc.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    doc.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    doc.set_title(title(review))
    doc.add_page()
    width = doc.epw

    def heading(text: str, size: int = 13) -> None:
        doc.ln(3)
        doc.set_font("DejaVu", "B", size)
        doc.multi_cell(width, 8, text, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("DejaVu", "", 10)

    def line(text: str) -> None:
        doc.multi_cell(width, 5.5, text, new_x="LMARGIN", new_y="NEXT")

    heading(title(review), 17)
    line(f"Status: {review.get_status_display()}")
    heading("Evidence")
    for label, value in figures(ev):
        line(f"{label}: {value}")
    for g in ev.grades:
        line(
            f"{g.team}: {g.achieved} achieved, {g.partly} partly, {g.missed} missed, "
            f"{g.displaced} displaced"
        )
    heading("Last quarter's decisions")
    for d in ev.previous:
        line(f"• {d.what_changes} — {_follow_up_text(d)}")
    if not ev.previous:
        line("None.")
    heading("Contributing factors")
    for f in ev.factors:
        line(f"• {f.text}")
    if not ev.factors:
        line("None yet.")
    heading("Structural decisions")
    for d in ev.decisions:
        heading(d.what_changes, 11)
        for text in _decision_lines(d):
            line(text)
    if not ev.decisions:
        line("None yet.")
    return bytes(doc.output())
