"""The mixed load's and the job timings' own logic, on tiny data: the forms read from the
real My-week page, the percentile, the verdicts, and the ladders' statement counts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail

from bench import jobs, mixed
from checkins.models import CheckIn, CheckInPrompt
from dependencies.models import Dependency
from objectives.models import DefinitionVersion
from ownership.models import TeamFigures
from reviews.models import EarlyEscalation, Grade, MissResponse, NextStep
from tests.conftest import TEST_TODAY

FORM_HTML = """
<form method="post" action="/checkins/7/">
  <input type="hidden" name="csrfmiddlewaretoken" value="tok&amp;en">
  <input type="radio" name="kr7-status" value="on_track">
  <input type="radio" name="kr7-status" value="at_risk" checked>
  <input type="number" name="kr7-confidence" value="6">
  <textarea name="kr7-biggest_risk">Scope &lt;grows&gt;</textarea>
  <select name="kr7-need_person"><option value="">— no one</option>
    <option value="3" selected>Ana</option></select>
  <select name="kr7-need_dependency"><option value="">— none</option></select>
  <input type="text" name="kr7-value" value="12.5">
  <button type="submit">Submit</button>
</form>
<form method="get" action="/search/"><input name="q" value=""></form>
"""


def test_forms_are_read_as_a_browser_submits_them() -> None:
    forms = mixed.checkin_forms(FORM_HTML)

    assert list(forms) == [7]
    form = forms[7]
    assert form.fields == {
        "csrfmiddlewaretoken": "tok&en",
        "kr7-status": "at_risk",
        "kr7-confidence": "6",
        "kr7-biggest_risk": "Scope <grows>",
        "kr7-need_person": "3",
        "kr7-need_dependency": "",
        "kr7-value": "12.5",
    }
    assert form.radios == {"kr7-status": ["on_track", "at_risk"]}
    assert mixed.csrf_token(FORM_HTML) == "tok&en"


def test_an_answer_fills_the_three_questions_and_keeps_the_rest() -> None:
    form = mixed.checkin_forms(FORM_HTML)[7]
    answer = mixed.Answer(7, "on_track", 3, Decimal("4.25"), "A unique risk")

    body = mixed.fill_checkin(form, answer)

    assert body == (
        "csrfmiddlewaretoken=tok%26en&kr7-status=on_track&kr7-confidence=3"
        "&kr7-biggest_risk=A+unique+risk&kr7-need_person=3&kr7-need_dependency=&kr7-value=4.25"
    )
    with pytest.raises(ValueError, match="not one of the form's statuses"):
        mixed.fill_checkin(form, mixed.Answer(7, "done", 3, Decimal(1), "x"))


def test_the_real_my_week_form_posts_a_check_in(
    client_for: Any, owner: Any, key_result: Any
) -> None:
    client = client_for(owner)
    page = client.get("/").content.decode()
    form = mixed.checkin_forms(page)[key_result.pk]
    answer = mixed.Answer(key_result.pk, "at_risk", 4, Decimal("17.50"), "Bench risk #1")

    response = client.post(
        form.action,
        mixed.fill_checkin(form, answer),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 302
    check_in = CheckIn.objects.get(key_result=key_result)
    assert (check_in.status, check_in.confidence, check_in.value, check_in.biggest_risk) == (
        "at_risk",
        4,
        Decimal("17.50"),
        "Bench risk #1",
    )


def test_percentile_is_a_measured_value() -> None:
    values = [float(v) for v in range(1, 101)]

    assert mixed.percentile(values, 0.95) == 95.0
    assert mixed.percentile([3.0, 1.0, 2.0], 0.95) == 3.0
    assert mixed.percentile([5.0], 0.5) == 5.0


def _by_name(figures: list[Any]) -> dict[str, Any]:
    return {f.name.split(" (")[0]: f for f in figures}


def test_the_mixed_figures_pass_and_fail_on_their_bars() -> None:
    tally = mixed.Tally()
    tally.acknowledged = [mixed.Answer(1, "on_track", 5, Decimal(1), "r")] * 30
    tally.dashboard_ms = {"/dashboard/": [80.0] * 20}
    tally.ping_ms = [10.0] * 20

    good = _by_name(
        mixed.figures(tally, mixed.Stored(10, 20, lost=0), seconds=10.0, server="4 sync workers")
    )
    assert good["check-ins/s"].value == 3.0
    assert good["dashboard p95 ÷ /ping/ p95"].value == 8.0
    assert good["dashboard p95 ÷ /ping/ p95"].passed is True
    assert good["errors"].passed is True
    assert good["check-ins lost"].passed is True

    tally.ping_ms = [9.0] * 20
    tally.errors = ["POST /checkins/1/ answered 500"]
    bad = _by_name(
        mixed.figures(tally, mixed.Stored(10, 19, lost=1), seconds=10.0, server="4 sync workers")
    )
    assert bad["dashboard p95 ÷ /ping/ p95"].passed is False
    assert bad["errors"].passed is False
    assert bad["check-ins lost"].passed is False


def test_the_jobs_figures_judge_equal_counts_and_the_cpu_bar() -> None:
    ladder = {"few": {"queries": 12, "wall": 0.1}, "many": {"queries": 12, "wall": 0.2}}
    result = {
        "prompts": {"cpu": 3.5, "wall": 5.0, "queries": 300, "sent": jobs.OWNERS,
                    "email_batches": 40, "email_cpu": 9.0},
        "ladders": {"dependencies": ladder,
                    "missed check-ins": {**ladder, "many": {"queries": 13, "wall": 0.2}}},
    }  # fmt: skip

    verdicts = {f.name: f.passed for f in jobs.figures(result) if f.passed is not None}

    assert verdicts == {
        "prompt job, 20,000 owners, worker CPU time": True,
        "prompts sent": True,
        "ladder dependencies: statements, 100,000 vs 10 not due": True,
        "ladder missed check-ins: statements, 100,000 vs 10 not due": False,
    }


def test_statement_count_leaves_out_savepoints() -> None:
    sqls = ['SAVEPOINT "s1"', "SELECT 1", 'RELEASE SAVEPOINT "s1"', "UPDATE x SET y = 1"]

    assert jobs.count_statements(sqls) == 2


@pytest.mark.django_db
def test_each_ladder_states_as_many_statements_whatever_is_not_due() -> None:
    world = jobs._seed(jobs.moment_now(TEST_TODAY), owners=40)

    for name, (add, job) in jobs._ladders(world).items():
        add(jobs.DUE, True, 0)
        add(10, False, 0)
        few = jobs._measure(lambda job=job: job(world.now))
        add(70, False, 10)
        many = jobs._measure(lambda job=job: job(world.now))

        assert few["queries"] == many["queries"], name
    for model in (
        Dependency,
        CheckInPrompt,
        DefinitionVersion,
        EarlyEscalation,
        MissResponse,
        NextStep,
        Grade,
    ):
        assert model.objects.filter(next_escalation_at__gt=world.now).count() == 80, model


# Committed for real: the job queues each batch's e-mail task once the batch commits.
@pytest.mark.django_db(transaction=True)
def test_the_prompt_job_prompts_every_owner_once() -> None:
    world = jobs._seed(jobs.moment_now(TEST_TODAY), owners=46)

    measured = jobs._prompts(world)

    assert measured["sent"] == 46
    assert measured["queries"] > 0
    assert measured["email_batches"] == 23  # one batch per zone: each zone is a batch of 2
    assert len(mail.outbox) == 46
    assert CheckInPrompt.objects.filter(quarter=world.quarter).count() == 46
    # The world has its status rows, so the job's own figures work is in what is measured.
    missed = TeamFigures.objects.filter(quarter=world.quarter, week__gt=0)
    assert sum(missed.values_list("missed", flat=True)) == 46
