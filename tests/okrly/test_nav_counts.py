"""The navigation's counts (issue 15): "Asked of me" shows how many items wait on the viewer,
and Dashboard how many risk items no leader has answered (for leaders). Both are read with
the unread count in the one statement every page already ran."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkins.models import CheckIn
from okrly import registry, sql
from okrly.context_processors import nav_read
from okrly.models import Quarter
from reviews import selectors

pytestmark = pytest.mark.django_db


def _nav(content: str) -> str:
    return content.split('<ul class="nav-links" id="nav-links">')[1].split("</ul>")[0]


def _link(nav: str, href: str) -> str:
    found = re.search(rf'<a href="{re.escape(href)}"[^>]*>(.*?)</a>', nav)
    assert found is not None, nav
    return found.group(1)


def _text(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


@pytest.fixture
def demo() -> None:
    call_command("seed_demo", stdout=StringIO())


def test_each_providers_count_equals_the_items_it_lists_for_everyone(demo: None) -> None:
    """Every "Asked of me" provider's count (SQL) against its list, for every person of the
    demo organisation; each provider has someone with items, so none is compared only at
    zero."""
    people = list(get_user_model().objects.all())
    # The demo names no one in a check-in's need: two needs of one person, one handled.
    first, second = CheckIn.objects.order_by("pk")[:2]
    CheckIn.objects.filter(pk=first.pk).update(need="A reviewer", need_person=people[0])
    CheckIn.objects.filter(pk=second.pk).update(
        need="Data", need_person=people[0], need_handled_at=timezone.now()
    )
    for name, (provider, count) in registry._asked.items():
        listed = 0
        for person in people:
            part, params = count(person)
            counted = sql.rows(f"SELECT ({part}) AS n", params)[0].n
            items = len(provider(person))
            assert counted == items, (name, person.username)
            listed += items
        assert listed > 0, f"the demo gives no one a {name} item"


def test_asked_of_me_shows_the_count_of_what_waits(demo: None, client: Any) -> None:
    people = list(get_user_model().objects.all())
    waiting = max(people, key=lambda p: len(registry.asked_of(p)))
    idle = next(p for p in people if not registry.asked_of(p))
    n = len(registry.asked_of(waiting))
    client.force_login(waiting)
    link = _link(_nav(client.get("/").content.decode()), "/asked/")
    assert f'<span class="badge" aria-hidden="true">{n}</span>' in link
    assert f"{n} waiting on you" in link
    client.force_login(idle)
    assert _text(_link(_nav(client.get("/").content.decode()), "/asked/")) == "Asked of me"


def test_dashboard_shows_the_unanswered_risks_to_leaders_only(demo: None, client: Any) -> None:
    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    unanswered = selectors.unanswered_count(quarter)
    assert unanswered > 0
    leader = get_user_model().objects.get(username="maya")  # leadership
    client.force_login(leader)
    link = _link(_nav(client.get("/").content.decode()), "/dashboard/")
    assert f"{unanswered} unanswered risks" in link
    # The same figure as the dashboard's own Risk feed tab.
    page = client.get("/dashboard/").content.decode()
    assert re.search(rf'aria-label="{unanswered} unanswered">{unanswered}</span>', page)

    from okrly.access import people_led_by

    member = next(
        p
        for p in get_user_model().objects.all()
        if people_led_by(p).everyone_but is None and not people_led_by(p).ids
    )
    client.force_login(member)
    assert _text(_link(_nav(client.get("/").content.decode()), "/dashboard/")) == "Dashboard"


def test_leads_someone_is_people_led_by_not_empty(demo: None) -> None:
    """The SQL condition of the navigation agrees with ``people_led_by`` (who may answer) for
    every person of the demo."""
    from okrly.access import leads_someone_sql, people_led_by

    for person in get_user_model().objects.all():
        condition, params = leads_someone_sql(person)
        in_sql = bool(sql.rows(f"SELECT 1 AS x WHERE {condition}", params))
        led = people_led_by(person)
        assert in_sql == (led.everyone_but is not None or bool(led.ids)), person.username


def test_the_counts_are_one_statement_whatever_waits(demo: None) -> None:
    """Asked of me, Dashboard and the unread count: one query for anyone."""
    for person in get_user_model().objects.all()[:10]:
        with CaptureQueriesContext(connection) as queries:
            counts = nav_read(person).get()
        assert len(queries) == 1
        assert counts.asked == len(registry.asked_of(person))


def test_a_count_past_99_reads_99_plus() -> None:
    from okrly.templatetags.okrly_tags import nav_badge

    assert ">99+</span>" in nav_badge(140, "waiting on you")
    assert ", 99+ waiting on you" in nav_badge(140, "waiting on you")
    assert nav_badge(0, "waiting on you") == ""


def test_the_counts_come_again_out_of_band_after_a_write(demo: None, client: Any) -> None:
    """After an htmx write, the page's refresher (``okrly-counts-stale``) asks /nav/counts/:
    each count in its own span, out of band, zero included (emptied), in one query."""
    from okrly.access import people_led_by

    quarter = Quarter.objects.get(status=Quarter.Status.ACTIVE)
    leader = get_user_model().objects.get(username="maya")
    client.force_login(leader)
    page = client.get("/").content.decode()
    assert 'hx-get="/nav/counts/" hx-trigger="okrly-counts-stale from:body"' in page
    before = selectors.unanswered_count(quarter)

    from checkins import threads
    from reviews.models import RiskItem

    item = RiskItem.objects.filter(quarter=quarter, in_play=True, answered=False).first()
    assert item is not None
    assert item.check_in is not None
    assert item.check_in.key_result.owner_id in people_led_by(leader)
    threads.checkin_comment(user=leader, check_in=item.check_in, seen=True)

    with CaptureQueriesContext(connection) as queries:
        fresh = client.get("/nav/counts/").content.decode()
    # The view's own read; the session and its user are the rest of any signed-in request.
    assert len([q for q in queries if " AS unread" in q["sql"]]) == 1
    dashboard = re.search(
        r'<span id="nav-count-reviews-dashboard"([^>]*)>(.*?)</span></span>', fresh
    )
    assert dashboard is not None
    assert 'hx-swap-oob="true"' in dashboard.group(1)
    assert f"{before - 1} unanswered risks" in dashboard.group(2)
    assert re.search(
        r'<span id="nav-count-asked_of_me" hx-swap-oob="true" data-quiet></span>', fresh
    )
    assert 'id="unread-badge"' in fresh
    assert 'hx-swap-oob="true"' in fresh


def test_okrly_js_asks_for_the_counts_after_every_htmx_write() -> None:
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "static" / "js" / "okrly.js").read_text()
    listener = script.split('addEventListener("htmx:afterRequest"', 1)[1].split("});", 1)[0]
    assert 'config.verb !== "get"' in listener
    assert 'new CustomEvent("okrly-counts-stale")' in listener
