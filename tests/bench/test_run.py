"""The benchmark's own arithmetic, without a server: the seed's shape at a scale, and the
verdicts of the page and scale figures from given timings."""

from __future__ import annotations

import pytest

from bench import run, seed


def test_the_shape_multiplies_the_1x_organisation() -> None:
    one, ten = seed.Shape.of(1), seed.Shape.of(10)

    assert (one.departments, one.people, one.key_results) == (30, 2000, 3000)
    assert (one.dependencies, one.checkins) == (6000, 40_000)
    assert (ten.departments, ten.people, ten.key_results) == (300, 20_000, 30_000)
    assert (ten.dependencies, ten.checkins) == (60_000, 400_000)
    with pytest.raises(ValueError, match="whole number"):
        seed.Shape.of(0)


def test_department_names_stay_unique_past_1x() -> None:
    names = [seed._department_name(d) for d in range(300)]

    assert names[0] == "Payments"
    assert names[30] == "Payments 2"
    assert len(set(names)) == 300


def _result(scale: int, medians: dict[str, float]) -> run.ScaleResult:
    pages = [
        run.Page("ping", "ping", "/ping/", "ok", None),
        run.Page("org", "organisation", "/dashboard/", "x", 6.0, scale_growth=3.0),
        run.Page("team", "team", "/dashboard/teams/1/", "x", 4.0, scale_delta=1.0),
        run.Page("risks", "risk feed", "/dashboard/risks/", "x", 5.0),
    ]
    # Three samples around each median: the median is the middle one.
    timings = {key: [m * 0.9, m, m * 1.5] for key, m in medians.items()}
    return run.ScaleResult(scale, pages, timings, writes=[20.0], seed_seconds=None)


def test_1x_pages_are_judged_against_their_bar() -> None:
    figures = run._page_figures(_result(1, {"ping": 10, "org": 60, "team": 41, "risks": 30}))

    verdicts = {f.name.split(" median")[0]: f.passed for f in figures}
    assert verdicts == {"ping": None, "organisation": True, "team": False, "risk feed": True}


def test_larger_scales_report_ratios_without_the_1x_bar() -> None:
    figures = run._page_figures(_result(10, {"ping": 10, "org": 200, "team": 80, "risks": 30}))

    assert [f.passed for f in figures] == [None, None, None, None]


def test_scale_figures_bound_the_change_and_the_growth() -> None:
    small = _result(1, {"ping": 10, "org": 40, "team": 30, "risks": 20})
    within = _result(10, {"ping": 10, "org": 120, "team": 39, "risks": 90})
    beyond = _result(10, {"ping": 10, "org": 121, "team": 41, "risks": 90})

    ok = {
        f.name.split(":")[0]: (round(f.value, 2), f.passed)
        for f in run._scale_figures(small, within)
    }
    bad = {f.name.split(":")[0]: f.passed for f in run._scale_figures(small, beyond)}

    assert ok == {"organisation": (3.0, True), "team": (0.9, True), "risk feed": (7.0, None)}
    assert bad == {"organisation": False, "team": False, "risk feed": None}
