"""``make bench``: how much slower each page is than a trivial signed-in page, just after a
write, as users meet it.

For each scale (1×, then ``--scale N`` when N > 1, each in its own database):

1. Recreates the PostgreSQL database (``BENCH_DATABASE_URL``, default ``okrly_bench``; at
   N× the same name with ``_N`` added; the name must contain "bench"), migrates it and
   seeds an organisation N times the 1× one with ``bench/seed.py`` (300 teams, 3,000 key
   results, 6,000 dependencies, 40,000 check-ins, 2,000 people at 1×); the seed fills the
   key-result status table and runs ``ANALYZE``.
2. Starts gunicorn (``okrly.wsgi:application``, settings ``okrly.settings.bench``: the
   production settings on localhost) on a free port with sync workers; waits for /healthz/.
3. Signs in through the login form over HTTP (CSRF token and all) as the leader (the
   dashboard pages and /ping/), the owner of exactly 5 key results (My week) and the person
   requests wait on (Asked of me); prints the SQL queries of every page, counted with
   Django's test client against the same database and sessions.
4. Times every page over real HTTP, one request at a time in a shuffled schedule. Cold is
   every request: before each one (/ping/'s included), this process submits a check-in
   through the real service (``checkins.services.checkin_submit``) for a random key result
   of the active quarter as its owner, and commits it.
5. Prints each page's median and p95 and their ratios to /ping/'s.

Then, if they exist: the "Monday morning" mixed load on the 1× database (``bench/mixed.py``,
``--skip-mixed``, ``--mixed-seconds``) and the job timings (``bench/jobs.py``,
``--skip-jobs``). At the end, every figure with its bar and PASS/FAIL (``bench/figures.py``):
at 1× the organisation ≤ 6× /ping/, team ≤ 4×, people ≤ 5×, risk feed ≤ 5×, My week ≤ 4×,
Asked of me ≤ 4× (medians); from 1× to N×, team, people, My week and Asked of me keep their
ratio within ±1 and the organisation's grows at most 3-fold. Exits 1 on any miss.

Run it as ``python -m bench.run [--scale N] [--rounds N] [--workers N] [--skip-seed]``.
"""

from __future__ import annotations

import argparse
import http.client
import importlib
import math
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from bench.figures import Figure, print_figures

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "okrly.settings.bench"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okrly_bench"

# Who each page is measured as (the named users of bench/seed.py).
LEADER, OWNER, ASKED = "leader", "owner", "asked"


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    path: str
    marker: str  # text the response must contain, so an error page is never timed
    bar: float | None  # at 1×, the highest allowed ratio of its median to /ping/'s
    who: str = LEADER
    # From 1× to N×: the largest change of its ratio (±), or of the ratio's growth (×).
    scale_delta: float | None = None
    scale_growth: float | None = None


@dataclass
class ScaleResult:
    scale: int
    pages: list[Page]
    timings: dict[str, list[float]]  # page key → ms
    writes: list[float]  # ms per check-in written before a request
    seed_seconds: float | None

    def median(self, key: str) -> float:
        return statistics.median(self.timings[key])

    def ratio(self, key: str) -> float:
        return self.median(key) / self.median("ping")


@dataclass
class HttpSession:
    """One keep-alive connection with its cookies. gunicorn's sync workers close every
    connection after its response; ``http.client`` then opens the next one by itself."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes, float]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        sent = {"Host": "localhost", "Connection": "keep-alive", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=sent)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server had closed: retry once, untimed.
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            break
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, response.headers, data, elapsed

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=1, help="also run an organisation N times the 1× one"
    )
    parser.add_argument("--rounds", type=int, default=50, help="measured rounds (default 50)")
    parser.add_argument(
        "--pings-per-round", type=int, default=2, help="/ping/ requests per round (default 2)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=10,
        help="warm-up requests per page (default 10: psycopg prepares a statement on its "
        "fifth run on a connection, and each of the workers must have seen every page's)",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--skip-seed", action="store_true", help="reuse the bench databases as they are"
    )
    parser.add_argument("--skip-mixed", action="store_true", help="no mixed load")
    parser.add_argument(
        "--mixed-seconds", type=float, default=60.0, help="mixed load duration (default 60)"
    )
    parser.add_argument("--skip-jobs", action="store_true", help="no job timings")
    args = parser.parse_args(argv)
    if args.scale < 1 or args.rounds < 1:
        parser.error("--scale and --rounds are whole numbers from 1.")

    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["BENCH_DATABASE_URL"] = base_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    if "bench" not in str(settings.DATABASES["default"]["NAME"]):
        print(f"Refusing to recreate {settings.DATABASES['default']['NAME']!r}: ", end="")
        print("its name must contain 'bench'.")
        return 2
    _print_machine()
    # The manifest storage cannot render a page without its manifest: collect every time.
    call_command("collectstatic", interactive=False, verbosity=0)

    started = time.perf_counter()
    scales = [1] if args.scale == 1 else [1, args.scale]
    results: list[ScaleResult] = []
    figures: list[Figure] = []
    for scale in scales:
        url = _use_database(base_url, scale)
        result = _run_scale(scale, args)
        results.append(result)
        figures += _page_figures(result)
        if scale == 1 and not args.skip_mixed and _has_module("mixed"):
            mixed = importlib.import_module("bench.mixed")
            print(f"\nMixed load on {_database_name(url)} for {args.mixed_seconds:g} s...")
            figures += mixed.run(url, args.mixed_seconds)
    if len(results) > 1:
        figures += _scale_figures(results[0], results[-1])
    if not args.skip_jobs and _has_module("jobs"):
        _use_database(base_url, 1)
        jobs = importlib.import_module("bench.jobs")
        print("\nJob timings...")
        figures += jobs.run()
    if len(results) > 1:  # side by side, after whatever ran in between
        for result in results:
            _print_table(result)
    print(f"\nThe whole run took {(time.perf_counter() - started) / 60:.1f} min.")
    passed = print_figures(figures)
    print(f"\n{'Every bar met.' if passed else 'A bar was MISSED.'}")
    return 0 if passed else 1


def _has_module(name: str) -> bool:
    """A part another change adds (bench/mixed.py, bench/jobs.py): run when its file is
    there; an error inside it is not hidden."""
    return (Path(__file__).resolve().parent / f"{name}.py").exists()


def _print_machine() -> None:
    """What the figures were measured on, at the top of the report."""
    from django.conf import settings

    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psycopg

    database = settings.DATABASES["default"]
    # The server's maintenance database: the bench one may not exist yet.
    with psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=int(database["PORT"] or 5432),
        user=database["USER"] or "postgres",
        password=database["PASSWORD"] or None,
        dbname="postgres",
    ) as admin:
        postgres = admin.info.parameter_status("server_version") or "?"
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Machine: {os.cpu_count()} CPUs, {model or 'unknown model'}; {platform.platform()}")
    print(f"PostgreSQL {postgres}; Python {platform.python_version()}")
    print("Load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _use_database(base_url: str, scale: int) -> str:
    """Points this process (and the gunicorn it starts next) at the scale's database: the
    base one at 1×, its name with ``_N`` added at N×."""
    from django.conf import settings
    from django.db import connection

    parts = urlsplit(base_url)
    name = _database_name(base_url) + ("" if scale == 1 else f"_{scale}")
    url = urlunsplit(parts._replace(path=f"/{name}"))
    connection.close()
    # The same dict the connection reads (as the test runner switches to its database).
    connection.settings_dict["NAME"] = name
    settings.DATABASES["default"]["NAME"] = name
    os.environ["BENCH_DATABASE_URL"] = url
    return url


def _run_scale(scale: int, args: argparse.Namespace) -> ScaleResult:
    from django.conf import settings
    from django.db import connection

    from bench.seed import ASKED_USERNAME, BENCH_USERNAME, OWNER_USERNAME

    database = settings.DATABASES["default"]
    print(f"\n=== {scale}× organisation, database {database['NAME']} ===")
    seed_seconds = None
    if args.skip_seed:
        print(f"Reusing the database {database['NAME']}.")
    else:
        _recreate_database(database)
        seed_seconds = _migrate_and_seed(scale)
    quarter_id, busy_team_id = _bench_targets()
    writer = CheckInWriter(quarter_id, random.Random(7))
    connection.close()

    pages = [
        Page("ping", "ping", "/ping/", "ok ", None),
        Page(
            "org", "organisation", "/dashboard/", "Accountability dashboard", 6.0, scale_growth=3.0
        ),
        Page(
            "team",
            "team (busiest)",
            f"/dashboard/teams/{busy_team_id}/",
            "team-table",
            4.0,
            scale_delta=1.0,
        ),
        Page(
            "people", "people (page 1)", "/dashboard/people/", "people-table", 5.0, scale_delta=1.0
        ),
        Page("risks", "risk feed (page 1)", "/dashboard/risks/", 'class="feed"', 5.0),
        Page("my_week", "My week (5 KRs)", "/", "checkin-summary", 4.0, OWNER, scale_delta=1.0),
        Page("asked", "Asked of me", "/asked/", "asked-list", 4.0, ASKED, scale_delta=1.0),
    ]
    log = Path(getattr(settings, "VAR_DIR", ROOT / "var")) / "bench" / f"gunicorn-{scale}x.log"
    server, port = _start_gunicorn(args.workers, log)
    try:
        _wait_until_up(port, server, log)
        cookies = {
            LEADER: _sign_in(port, username=BENCH_USERNAME),
            OWNER: _sign_in(port, username=OWNER_USERNAME),
            ASKED: _sign_in(port, username=ASKED_USERNAME),
        }
        print(f"\nSigned in over HTTP as {BENCH_USERNAME}, {OWNER_USERNAME} and {ASKED_USERNAME}.")
        _print_query_counts(pages, cookies)
        timings, writes = _measure(pages, port, cookies, writer, args)
    finally:
        _stop(server)
    result = ScaleResult(scale, pages, timings, writes, seed_seconds)
    _print_table(result)
    return result


# --- 1. database --------------------------------------------------------------------------


def _recreate_database(database: dict[str, Any]) -> None:
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    with psycopg.connect(
        host=database["HOST"] or "127.0.0.1",
        port=int(database["PORT"] or 5432),
        user=database["USER"] or "postgres",
        password=database["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        name = sql.Identifier(database["NAME"])
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    print(f"Recreated the database {database['NAME']} ({time.perf_counter() - started:.1f} s).")


def _migrate_and_seed(scale: int) -> float:
    from django.core.management import call_command
    from django.utils import timezone

    from bench.seed import seed

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"Migrated ({time.perf_counter() - started:.1f} s).")
    seeded = seed(timezone.localdate(), scale=scale)
    print(
        f"\nSeeded {scale}× in {seeded.seconds:.1f} s (week {seeded.week} of the active quarter):"
    )
    width = max(len(name) for name in seeded.counts)
    for name, count in seeded.counts.items():
        print(f"  {name:<{width}}  {count:>9,}")
    return seeded.seconds


def _bench_targets() -> tuple[int, int]:
    """The active quarter and its busiest team (most key results)."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from okrly.models import Quarter, Team

    quarter = Quarter.objects.current(timezone.localdate())
    if quarter is None:
        raise SystemExit("The bench database has no active quarter: run without --skip-seed.")
    busiest = (
        Team.objects.annotate(
            n=Count("objectives__key_results", filter=Q(objectives__quarter=quarter))
        )
        .order_by("-n", "pk")
        .first()
    )
    assert busiest is not None
    return quarter.pk, busiest.pk


class CheckInWriter:
    """The write before each measured request: a check-in submitted through the service, as
    its owner would, for a random key result of the active quarter (never the same owner
    twice in a row), committed before the request goes out. A second one in the same week
    edits the first, as the service allows."""

    STATUSES = ["on_track", "on_track", "on_track", "at_risk", "off_track"]
    RISKS = ["Nothing new this week.", "Hiring is behind plan.", "Scope keeps growing."]

    def __init__(self, quarter_id: int, rng: random.Random) -> None:
        from objectives.models import KeyResult

        self.rng = rng
        self.key_results = list(
            KeyResult.objects.in_play()
            .filter(objective__quarter_id=quarter_id)
            .select_related("owner__profile")
            .order_by("pk")
        )
        self.last_owner: int | None = None

    def write(self) -> float:
        """Submits one check-in; returns the milliseconds it took."""
        from checkins.services import checkin_submit
        from okrly.errors import RuleBroken

        for _ in range(20):
            kr = self.rng.choice(self.key_results)
            if kr.owner_id == self.last_owner:
                continue
            share = Decimal(str(round(self.rng.uniform(0.3, 1.0), 2)))
            value = (kr.start_value + (kr.target_value - kr.start_value) * share).quantize(
                Decimal("0.01")
            )
            started = time.perf_counter()
            try:
                checkin_submit(
                    user=kr.owner,
                    key_result=kr,
                    status=self.rng.choice(self.STATUSES),
                    confidence=self.rng.randint(3, 10),
                    biggest_risk=self.rng.choice(self.RISKS),
                    value=value,
                )
            except RuleBroken:
                # Around midnight somewhere: the owner's week may not be the quarter's.
                continue
            self.last_owner = kr.owner_id
            return (time.perf_counter() - started) * 1000
        raise SystemExit("No key result accepted a check-in in 20 tries.")


# --- 2. server ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_gunicorn(workers: int, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "okrly.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--timeout=120",
        f"--error-logfile={log}",
        "--log-level=warning",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    print(f"\nStarting gunicorn with {workers} sync workers on 127.0.0.1:{port} (log {log}).")
    return subprocess.Popen(command, cwd=ROOT, env=env), port


def _wait_until_up(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}); see {log}")
        try:
            status, *_ = HttpSession(port).request("GET", "/healthz/")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()  # gunicorn's graceful shutdown of its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    print("Stopped gunicorn.")


# --- 3. sign in, count queries, measure ---------------------------------------------------


def _sign_in(port: int, username: str = "", password: str = "") -> dict[str, str]:
    """Signs in through the login form (CSRF token and all); the session's cookies. By
    default as the bench leader with the bench password (every seeded user's)."""
    from bench.seed import BENCH_PASSWORD, BENCH_USERNAME

    session = HttpSession(port)
    status, _, body, _ = session.request("GET", "/accounts/login/")
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or found is None:
        raise SystemExit(f"The login page answered {status} without a CSRF token.")
    form = urlencode(
        {
            "username": username or BENCH_USERNAME,
            "password": password or BENCH_PASSWORD,
            "csrfmiddlewaretoken": found.group(1).decode(),
        }
    )
    status, headers, _, _ = session.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    session.close()
    if status != 302 or "sessionid" not in session.cookies:
        raise SystemExit(
            f"Signing in as {username or BENCH_USERNAME} failed: {status} {headers.get('Location')}"
        )
    return session.cookies


def _print_query_counts(pages: list[Page], cookies: dict[str, dict[str, str]]) -> None:
    """The same requests through Django's test client, in this process, against the bench
    database and the same sessions (cached in Redis, as the server reads them)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    print("SQL queries per request (Django's test client, same database and sessions;")
    print("the connection health check's SELECT 1 is not a query Django counts):")
    for page in pages:
        client = Client(HTTP_HOST="localhost")
        client.cookies["sessionid"] = cookies[page.who]["sessionid"]
        client.get(page.path)  # the first request may fill caches (the session from Redis)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.path)
        if response.status_code != 200:
            raise SystemExit(f"{page.path} answered {response.status_code} to the test client.")
        print(f"  {page.label:<20} {page.path:<24} {len(queries):>3} queries")
    connection.close()


def _measure(
    pages: list[Page],
    port: int,
    cookies: dict[str, dict[str, str]],
    writer: CheckInWriter,
    args: argparse.Namespace,
) -> tuple[dict[str, list[float]], list[float]]:
    """A warm-up (imports, templates, connections and their prepared statements: no cache is
    warmed, none is read), then rounds of every page once and /ping/ ``pings_per_round``
    times, shuffled; a check-in is written before every request, warm-up included."""
    by_key = {p.key: p for p in pages}
    rng = random.Random(7)
    warmup = [p.key for p in pages for _ in range(args.warmup)]
    rng.shuffle(warmup)
    schedule: list[str] = []
    for _ in range(args.rounds):
        one = ["ping"] * args.pings_per_round + [p.key for p in pages if p.key != "ping"]
        rng.shuffle(one)
        schedule += one
    sessions = {who: HttpSession(port, cookies=dict(c)) for who, c in cookies.items()}

    def run(keys: list[str]) -> tuple[list[tuple[str, float]], list[float]]:
        out, writes = [], []
        for key in keys:
            page = by_key[key]
            writes.append(writer.write())
            status, _, body, elapsed = sessions[page.who].request("GET", page.path)
            if status != 200 or page.marker.encode() not in body:
                raise SystemExit(f"{page.path} answered {status} without {page.marker!r}.")
            out.append((key, elapsed))
        return out, writes

    print(f"\nWarm-up: {len(warmup)} requests. Measuring {len(schedule)} requests, one at a")
    print("time, each just after a check-in written through the service...")
    run(warmup)
    started = time.perf_counter()
    results, writes = run(schedule)
    wall = time.perf_counter() - started
    for session in sessions.values():
        session.close()
    from django.db import connection

    connection.close()
    print(f"Measured in {wall:.1f} s.", end=" ")
    # Other work on this machine slows the long requests most: say how busy it was.
    print("Load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}.".format(*os.getloadavg()))
    timings: dict[str, list[float]] = defaultdict(list)
    for key, elapsed in results:
        timings[key].append(elapsed * 1000)
    return timings, writes


# --- 4. report ----------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _print_table(result: ScaleResult) -> None:
    ping_median = result.median("ping")
    ping_p95 = _p95(result.timings["ping"])
    bars = result.scale == 1
    seeded = "" if result.seed_seconds is None else f", seeded in {result.seed_seconds:.0f} s"
    print(f"\n{result.scale}× organisation{seeded}; every request just after a write:")
    print(
        f"{'page':<20} {'n':>4} {'median ms':>10} {'p95 ms':>8} "
        f"{'median ×ping':>13} {'p95 ×ping':>10}  {'bar (medians)' if bars else ''}"
    )
    for page in result.pages:
        values = result.timings[page.key]
        median, p95 = statistics.median(values), _p95(values)
        verdict = ""
        if bars and page.bar is not None:
            ok = median / ping_median <= page.bar
            verdict = f"≤ {page.bar:g}×  {'PASS' if ok else 'FAIL'}"
        print(
            f"{page.label:<20} {len(values):>4} {median:>10.2f} {p95:>8.2f} "
            f"{median / ping_median:>12.1f}× {p95 / ping_p95:>9.1f}×  {verdict}"
        )
    print(
        f"{'(check-in write)':<20} {len(result.writes):>4} "
        f"{statistics.median(result.writes):>10.2f} {_p95(result.writes):>8.2f}"
        "   (in this process, before each request; not timed)"
    )


def _page_figures(result: ScaleResult) -> list[Figure]:
    """Each page's median as a multiple of /ping/'s, against its bar at 1× (reported only
    at other scales: the scale figures judge those), and the milliseconds behind it."""
    section = f"{result.scale}× pages (every request just after a write)"
    figures = []
    if result.seed_seconds is not None:
        figures.append(Figure(section, "seed time", result.seed_seconds, " s", "", None))
    figures.append(Figure(section, "ping median", result.median("ping"), " ms", "", None))
    for page in result.pages:
        if page.key == "ping":
            continue
        ratio = result.ratio(page.key)
        judged = result.scale == 1 and page.bar is not None
        figures.append(
            Figure(
                section,
                f"{page.label} median ×/ping/ ({result.median(page.key):.0f} ms)",
                ratio,
                "×",
                f"≤ {page.bar:g}×" if judged else "",
                ratio <= page.bar if judged and page.bar is not None else None,
            )
        )
    return figures


def _scale_figures(small: ScaleResult, large: ScaleResult) -> list[Figure]:
    """From 1× to N×: the ratio's change (±) of the pages that must not grow with the
    organisation, the ratio's growth (×) of the organisation page, which may."""
    section = f"scale {small.scale}× → {large.scale}× (ratios to /ping/)"
    figures = []
    for page in small.pages:
        if page.key == "ping":
            continue
        r1, rn = small.ratio(page.key), large.ratio(page.key)
        name = f"{page.label}: {r1:.1f}× → {rn:.1f}×"
        if page.scale_growth is not None:
            growth = rn / r1
            bar = f"≤ {page.scale_growth:g} (growth)"
            figures.append(Figure(section, name, growth, "", bar, growth <= page.scale_growth))
        elif page.scale_delta is not None:
            delta = rn - r1
            bar = f"±{page.scale_delta:g}×"
            ok = abs(delta) <= page.scale_delta
            figures.append(Figure(section, name, delta, "×", bar, ok))
        else:
            figures.append(Figure(section, name, rn - r1, "×", "", None))
    return figures


if __name__ == "__main__":
    sys.exit(main())
