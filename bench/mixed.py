"""Mixed load, "Monday morning": members check in while leaders read the dashboard.

Against a database seeded by ``bench.seed`` (the 1× organisation), with gunicorn running
``2 × cores`` gthread workers of THREADS threads (sync ones with ``threads=0``), for
``duration`` seconds at once:

- 40 member threads, each signed in through the login form as a different key-result owner:
  GET My week (``/``), take one key result's check-in form from the page as a browser would
  (every field the form holds, its CSRF token included), answer the three questions and the
  value, and POST it to the form's action. A 302 back to My week is a success; anything
  else is an error.
- 5 leader threads, signed in as the bench user, reading the organisation, team, people and
  risk-feed pages in turn, each request timed.
- 1 thread timing ``/ping/`` (signed in), the unit the dashboard is compared with.

"Lost" is measured, not assumed: every POST carries a unique answer to "biggest risk". A
second submission for the same week edits the check-in and keeps the previous version as a
``CheckInRevision``, so every acknowledged POST must be found afterwards, with the status,
confidence and value it posted, either as a check-in's current answer or as one of its
revisions. The rows written (new check-ins plus revisions) are counted too.
"""

from __future__ import annotations

import math
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.figures import Figure

SECTION = "mixed load"
MEMBERS = 40
LEADERS = 5
RATIO_BAR = 8.0
# gthread workers, measured against sync ones on this 2-core machine (4 workers, 60 s): 1.58
# against 0.68 check-ins/s, 62 against 12 dashboard reads and 8 against 2 pings. With sync
# workers each of the 46 clients waits for a free process, so every request, /ping/ too,
# costs the queue's length and the ratio says nothing about the dashboard.
THREADS = 12
CHECKIN_ACTION = re.compile(r"^/checkins/(\d+)/$")
FORM_CONTENT = {"Content-Type": "application/x-www-form-urlencoded"}


# --- the HTML a browser would read --------------------------------------------------------


@dataclass
class HtmlForm:
    action: str
    method: str
    # What a browser submits untouched: hidden and text inputs, checked radios and boxes,
    # textareas, each select's chosen option.
    fields: dict[str, str] = field(default_factory=dict)
    # Every radio group's choices, so a status can be picked among those offered.
    radios: dict[str, list[str]] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None
        self._option: str | None = None
        self._selected = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = HtmlForm(a.get("action", ""), a.get("method", "get").lower())
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind == "radio":
                form.radios.setdefault(name, []).append(a.get("value", "on"))
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            form.fields[name] = a.get("value", "on" if kind in ("radio", "checkbox") else "")
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            self._option = a.get("value")
            self._selected = "selected" in a
            if self._option is not None:
                self._note_option(self._option)

    def _note_option(self, value: str) -> None:
        assert self._form is not None
        assert self._select is not None
        if self._first_option is None:
            self._first_option = value
            self._form.fields.setdefault(self._select, value)
        if self._selected:
            self._form.fields[self._select] = value

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea is not None:
            self._form.fields[self._textarea] += data
        if self._select is not None and self._option is None and data.strip():
            # An <option> without a value submits its text.
            self._option = data.strip()
            self._note_option(self._option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            self._option, self._selected = None, False


def parse_forms(html: str) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def checkin_forms(html: str) -> dict[int, HtmlForm]:
    """My week's check-in forms, by key result: those posting to ``/checkins/<pk>/``."""
    out = {}
    for form in parse_forms(html):
        found = CHECKIN_ACTION.match(urlsplit(form.action).path)
        if found and form.method == "post":
            out[int(found.group(1))] = form
    return out


def csrf_token(html: str) -> str | None:
    for form in parse_forms(html):
        if "csrfmiddlewaretoken" in form.fields:
            return form.fields["csrfmiddlewaretoken"]
    return None


def _field(form: HtmlForm, suffix: str) -> str:
    """The form's field named ``<prefix>-<suffix>`` (each card's form is prefixed kr<pk>)."""
    names = {n for n in (*form.fields, *form.radios) if n.split("-", 1)[-1] == suffix}
    if len(names) != 1:
        raise ValueError(f"The form posting to {form.action} has no single {suffix!r} field.")
    return names.pop()


@dataclass(frozen=True)
class Answer:
    key_result: int
    status: str
    confidence: int
    value: Decimal
    risk: str


def fill_checkin(form: HtmlForm, answer: Answer) -> str:
    """The form's body as a browser submits it, with the three questions answered."""
    data = dict(form.fields)
    if answer.status not in form.radios.get(_field(form, "status"), []):
        raise ValueError(f"{answer.status!r} is not one of the form's statuses.")
    data[_field(form, "status")] = answer.status
    data[_field(form, "confidence")] = str(answer.confidence)
    data[_field(form, "value")] = str(answer.value)
    data[_field(form, "biggest_risk")] = answer.risk
    return urlencode(data)


# --- figures ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.95 for p95): a value that was measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Tally:
    """What every thread measured; threads append under the lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: list[Answer] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    my_week_ms: list[float] = field(default_factory=list)
    dashboard_ms: dict[str, list[float]] = field(default_factory=dict)
    ping_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


@dataclass(frozen=True)
class Stored:
    """The database's side: rows written during the run, and the acknowledged answers not
    found with the values posted."""

    new_checkins: int
    new_revisions: int
    lost: int


def figures(tally: Tally, stored: Stored, seconds: float, server: str) -> list[Figure]:
    dashboard = [ms for values in tally.dashboard_ms.values() for ms in values]
    dash_p95, ping_p95 = percentile(dashboard, 0.95), percentile(tally.ping_ms, 0.95)
    ratio = dash_p95 / ping_p95 if ping_p95 else math.inf
    ok = len(tally.acknowledged)
    out = [
        Figure(SECTION, f"check-ins/s ({MEMBERS} members, {server})", ok / seconds,
               "/s", "", None),
        Figure(SECTION, "check-in POST p95", percentile(tally.post_ms, 0.95), " ms", "", None),
        Figure(SECTION, "My week p95", percentile(tally.my_week_ms, 0.95), " ms", "", None),
    ]  # fmt: skip
    for page, values in sorted(tally.dashboard_ms.items()):
        out.append(Figure(SECTION, f"{page} p95", percentile(values, 0.95), " ms", "", None))
    out += [
        Figure(SECTION, f"dashboard p95 ({len(dashboard)} reads)", dash_p95, " ms", "", None),
        Figure(SECTION, f"/ping/ p95 ({len(tally.ping_ms)} reads)", ping_p95, " ms", "", None),
        Figure(SECTION, "dashboard p95 ÷ /ping/ p95", ratio, "×", f"≤ {RATIO_BAR:g}×",
               ratio <= RATIO_BAR),
        Figure(SECTION, "errors", len(tally.errors), "", "= 0", not tally.errors),
        Figure(SECTION, f"rows written (check-ins + revisions) for {ok} acknowledged",
               stored.new_checkins + stored.new_revisions, "", "", None),
        Figure(SECTION, "check-ins lost", stored.lost, "", "= 0", stored.lost == 0),
    ]  # fmt: skip
    return out


# --- the run ------------------------------------------------------------------------------


def run(database_url: str, duration: float = 60.0, threads: int = THREADS) -> list[Figure]:
    """Runs the mixed load against ``database_url`` (seeded by ``bench.seed``), on gthread
    workers with ``threads`` threads each, or on bench.run's sync workers (``threads=0``)."""
    os.environ["BENCH_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrly.settings.bench")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from bench.run import _start_gunicorn, _stop, _wait_until_up

    name = urlsplit(database_url).path.lstrip("/")
    if settings.DATABASES["default"]["NAME"] != name:
        configured = settings.DATABASES["default"]["NAME"]
        raise SystemExit(
            f"Django is configured for {configured}, not {name}: set BENCH_DATABASE_URL."
        )
    members, teams = _cast()
    run_id = f"{time.time_ns():x}"
    before = _row_counts()
    connection.close()

    workers = 2 * (os.cpu_count() or 1)
    log = Path(settings.BASE_DIR) / "var" / "bench" / "gunicorn-mixed.log"
    if threads:
        server, port = _start_gthread(workers, threads, log)
    else:
        server, port = _start_gunicorn(workers, log)
    tally = Tally()
    try:
        _wait_until_up(port, server, log)
        seconds = _load(port, members, teams, run_id, duration, tally)
    finally:
        _stop(server)
    stored = _stored(tally, run_id, before)
    connection.close()
    first = f": {'; '.join(tally.errors[:5])}" if tally.errors else ""
    print(f"Mixed load: {seconds:.1f} s, {len(tally.acknowledged)} check-ins acknowledged, "
          f"{len(tally.errors)} errors{first}.")  # fmt: skip
    return figures(tally, stored, seconds, f"{workers} {'gthread' if threads else 'sync'} workers")


def _start_gthread(workers: int, threads: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    """bench.run's server with threaded workers: a cheap request is then not queued behind
    every slow one, as it is with sync workers under a closed loop of 46 clients."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "gunicorn", "okrly.wsgi:application",
               f"--bind=127.0.0.1:{port}", f"--workers={workers}", "--worker-class=gthread",
               f"--threads={threads}", "--timeout=120", f"--error-logfile={log}",
               "--log-level=warning"]  # fmt: skip
    print(f"\nStarting gunicorn with {workers} gthread workers × {threads} threads on port {port}.")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "okrly.settings.bench"}
    return subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, env=env), port


def _cast() -> tuple[list[str], list[int]]:
    """The members (owners of a key result in play in the active quarter, one each) and the
    teams the leaders read (those with the most key results first)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from bench.seed import BENCH_USERNAME
    from objectives.models import KeyResult
    from okrly.models import Quarter, Team

    quarter = Quarter.objects.current(timezone.localdate())
    if quarter is None or quarter.status != Quarter.Status.ACTIVE:
        raise SystemExit("The mixed load needs an active quarter: seed the database first.")
    owners = (
        KeyResult.objects.filter(objective__quarter=quarter, displaced_by__isnull=True)
        .exclude(owner__username=BENCH_USERNAME)
        .values_list("owner__username", flat=True)
        .distinct()
        .order_by("owner__username")
    )
    members = list(owners[:MEMBERS])
    if len(members) < MEMBERS:
        raise SystemExit(f"Only {len(members)} key-result owners; the mixed load needs {MEMBERS}.")
    teams = list(
        Team.objects.annotate(
            n=Count("objectives__key_results", filter=Q(objectives__quarter=quarter))
        )
        .order_by("-n", "pk")
        .values_list("pk", flat=True)[:20]
    )
    return members, teams


def _row_counts() -> tuple[int, int]:
    from checkins.models import CheckIn, CheckInRevision

    return CheckIn.objects.count(), CheckInRevision.objects.count()


def _sign_in(port: int, username: str, password: str) -> Any:
    from bench.run import HttpSession

    session = HttpSession(port)
    status, _, body, _ = session.request("GET", "/accounts/login/")
    token = csrf_token(body.decode())
    if status != 200 or token is None:
        raise RuntimeError(f"The login page answered {status} without a CSRF token.")
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    status, headers, _, _ = session.request("POST", "/accounts/login/", form, FORM_CONTENT)
    if status != 302 or "sessionid" not in session.cookies:
        raise RuntimeError(f"Signing in as {username} failed: {status} {headers.get('Location')}")
    return session


def _load(
    port: int, members: list[str], teams: list[int], run_id: str, duration: float, tally: Tally
) -> float:
    from bench.seed import BENCH_PASSWORD, BENCH_USERNAME

    sessions: dict[str, Any] = {}
    sign_ins = [(f"m{i}", u) for i, u in enumerate(members)]
    sign_ins += [(f"l{i}", BENCH_USERNAME) for i in range(LEADERS)] + [("ping", BENCH_USERNAME)]

    def sign_in(key: str, username: str) -> None:
        sessions[key] = _sign_in(port, username, BENCH_PASSWORD)

    # Signing in hashes the password (slow on purpose): done before the clock starts.
    _threads([(sign_in, (k, u)) for k, u in sign_ins])
    missing = [u for k, u in sign_ins if k not in sessions]
    if missing:
        raise SystemExit(f"Could not sign in as {', '.join(sorted(set(missing)))}.")
    print(f"Signed in {len(members)} members and {LEADERS + 1} leaders; "
          f"loading for {duration:.0f} s...")  # fmt: skip

    pages = ["/dashboard/", "/dashboard/people/", "/dashboard/risks/", "team"]
    stop_at = time.monotonic() + duration
    started = time.perf_counter()
    targets: list[tuple[Any, tuple[Any, ...]]] = [
        (_member, (sessions[f"m{i}"], i, run_id, stop_at, tally)) for i in range(len(members))
    ]
    targets += [
        (_leader, (sessions[f"l{i}"], i, pages, teams, stop_at, tally)) for i in range(LEADERS)
    ]
    targets.append((_pinger, (sessions["ping"], stop_at, tally)))
    _threads(targets)
    seconds = time.perf_counter() - started
    for session in sessions.values():
        session.close()
    return seconds


def _threads(targets: list[tuple[Any, tuple[Any, ...]]]) -> None:
    threads = [threading.Thread(target=t, args=args, daemon=True) for t, args in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _guarded(tally: Tally, what: str, call: Any, *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as error:  # a broken connection or a timeout counts as an error
        tally.error(f"{what}: {type(error).__name__}: {error}")
        return None


def _member(session: Any, index: int, run_id: str, stop_at: float, tally: Tally) -> None:
    _guarded(tally, f"member {index}", _member_loop, session, index, run_id, stop_at, tally)


def _member_loop(session: Any, index: int, run_id: str, stop_at: float, tally: Tally) -> None:
    rng = random.Random(index)
    statuses = ["on_track", "on_track", "at_risk", "off_track"]
    n = 0
    while time.monotonic() < stop_at:
        got = _guarded(tally, "GET /", session.request, "GET", "/")
        if got is None:
            continue
        status, _, body, elapsed = got
        forms = checkin_forms(body.decode()) if status == 200 else {}
        if not forms:
            tally.error(f"GET / answered {status} with no check-in form (member {index})")
            time.sleep(0.5)  # don't spin on a page that has no form for this owner
            continue
        kr = sorted(forms)[n % len(forms)]
        form = forms[kr]
        n += 1
        answer = Answer(
            key_result=kr,
            status=rng.choice(statuses),
            confidence=rng.randint(0, 10),
            value=Decimal(rng.randint(0, 100_000)) / 100,
            risk=f"Monday bench {run_id} m{index} #{n}: {rng.choice(_RISKS)}",
        )
        body_ = fill_checkin(form, answer)
        headers = {**FORM_CONTENT, "Referer": "http://localhost/"}
        posted = _guarded(
            tally, f"POST {form.action}", session.request, "POST", form.action, body_, headers
        )
        if posted is None:
            continue
        status, answered, _, post_elapsed = posted
        with tally.lock:
            tally.my_week_ms.append(elapsed * 1000)
            tally.post_ms.append(post_elapsed * 1000)
            if status == 302 and urlsplit(answered.get("Location", "")).path == "/":
                tally.acknowledged.append(answer)
            else:
                tally.errors.append(f"POST {form.action} answered {status}")


_RISKS = ["Hiring is behind plan.", "Scope keeps growing.", "Nothing new this week."]


def _leader(
    session: Any, index: int, pages: list[str], teams: list[int], stop_at: float, tally: Tally
) -> None:
    rng = random.Random(1000 + index)
    n = index
    while time.monotonic() < stop_at:
        page = pages[n % len(pages)]
        n += 1
        path = f"/dashboard/teams/{rng.choice(teams)}/" if page == "team" else page
        got = _guarded(tally, f"GET {path}", session.request, "GET", path)
        if got is None:
            continue
        status, _, _, elapsed = got
        label = "/dashboard/teams/<id>/" if page == "team" else page
        with tally.lock:
            if status == 200:
                tally.dashboard_ms.setdefault(label, []).append(elapsed * 1000)
            else:
                tally.errors.append(f"GET {path} answered {status}")


def _pinger(session: Any, stop_at: float, tally: Tally) -> None:
    while time.monotonic() < stop_at:
        got = _guarded(tally, "GET /ping/", session.request, "GET", "/ping/")
        if got is None:
            continue
        status, _, body, elapsed = got
        with tally.lock:
            if status == 200 and body.startswith(b"ok "):
                tally.ping_ms.append(elapsed * 1000)
            else:
                tally.errors.append(f"GET /ping/ answered {status}")


def _stored(tally: Tally, run_id: str, before: tuple[int, int]) -> Stored:
    """Looks every acknowledged answer up in the database, with the values it posted."""
    from checkins.models import CheckIn, CheckInRevision

    after = _row_counts()
    marker = f"Monday bench {run_id} "
    found: set[tuple[int, str, str, int, Decimal]] = set()
    for model, key in ((CheckIn, "key_result_id"), (CheckInRevision, "check_in__key_result_id")):
        rows = model.objects.filter(biggest_risk__startswith=marker).values_list(
            key, "biggest_risk", "status", "confidence", "value"
        )
        found.update((kr, risk, status, conf, value) for kr, risk, status, conf, value in rows)
    lost = sum(
        1
        for a in tally.acknowledged
        if (a.key_result, a.risk, a.status, a.confidence, a.value) not in found
    )
    return Stored(after[0] - before[0], after[1] - before[1], lost)
