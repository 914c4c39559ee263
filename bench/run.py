"""``make bench``: how much slower the leaders' dashboard is than a trivial signed-in page.

1. Recreates the PostgreSQL database ``okrly_bench`` (dropped first; ``BENCH_DATABASE_URL``
   names another, whose name must contain "bench"), migrates it, collects the static files
   and seeds a large organisation (``bench/seed.py``).
2. Starts gunicorn (``okrly.wsgi:application``, settings ``okrly.settings.bench``: the
   production settings on localhost) on a free port with sync workers; waits for /healthz/.
3. Signs in as the bench user through the login form (CSRF token and all), then counts
   the SQL queries of every measured page with Django's test client against the same
   database, and times them over real HTTP: a warm-up, then rounds in which /ping/ and the
   three dashboard views are requested in a shuffled order, one request at a time.
4. Prints the median and p95 latency of each page and their ratios to /ping/'s, judged
   against the bar (organisation view ≤ 10×, team and people views ≤ 6×, medians), and
   stops gunicorn. Exits 1 when the bar is missed.

Run it as ``python -m bench.run [--rounds N] [--workers N] [--skip-seed]``.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "okrly.settings.bench"


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    path: str
    marker: str  # text the response must contain, so an error page is never timed
    bar: float | None  # the highest allowed ratio of medians to /ping/'s


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured rounds (default 60)")
    parser.add_argument(
        "--pings-per-round", type=int, default=4, help="/ping/ requests per round (default 4)"
    )
    parser.add_argument("--warmup", type=int, default=10, help="warm-up requests per page")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--concurrency", type=int, default=1, help="client threads (default 1: latency alone)"
    )
    parser.add_argument(
        "--skip-seed", action="store_true", help="reuse the okrly_bench database as it is"
    )
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    if "bench" not in str(database["NAME"]):
        print(f"Refusing to recreate {database['NAME']!r}: its name must contain 'bench'.")
        return 2

    if args.skip_seed:
        print(f"Reusing the database {database['NAME']}.")
    else:
        _recreate_database(database)
        _migrate_and_seed()
    quarter_id, busy_team_id = _bench_targets()
    connection.close()
    # The manifest storage cannot render a page without its manifest: collect every time.
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)

    pages = [
        Page("ping", "ping", "/ping/", "ok ", None),
        Page("org", "organisation", "/dashboard/", "Accountability dashboard", 10.0),
        Page("team", "team (busiest)", f"/dashboard/teams/{busy_team_id}/", "team-table", 6.0),
        Page("people", "people (page 1)", "/dashboard/people/", "people-table", 6.0),
        # The same pages just after a change: the dashboard version is bumped before each
        # request, so everything is recomputed (reported, not judged against the bar).
        Page("org_cold", "organisation cold", "/dashboard/", "Accountability dashboard", None),
        Page("team_cold", "team cold", f"/dashboard/teams/{busy_team_id}/", "team-table", None),
        Page("people_cold", "people cold", "/dashboard/people/", "people-table", None),
    ]
    log = ROOT / "var" / "bench" / "gunicorn.log"
    server, port = _start_gunicorn(args.workers, log)
    try:
        _wait_until_up(port, server, log)
        cookies = _sign_in(port)
        print(f"\nSigned in as the bench user over HTTP (quarter {quarter_id}).")
        _print_query_counts(pages, cookies)
        timings = _measure(pages, port, cookies, args)
    finally:
        _stop(server)
    return 0 if _report(pages, timings, args) else 1


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


def _migrate_and_seed() -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from bench.seed import seed

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"Migrated ({time.perf_counter() - started:.1f} s).")
    seeded = seed(timezone.localdate())
    print(f"\nSeeded in {seeded.seconds:.1f} s (week {seeded.week} of the active quarter):")
    width = max(len(name) for name in seeded.counts)
    for name, count in seeded.counts.items():
        print(f"  {name:<{width}}  {count:>7,}")


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


def _sign_in(port: int) -> dict[str, str]:
    from bench.seed import BENCH_PASSWORD, BENCH_USERNAME

    session = HttpSession(port)
    status, _, body, _ = session.request("GET", "/accounts/login/")
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or found is None:
        raise SystemExit(f"The login page answered {status} without a CSRF token.")
    form = urlencode(
        {
            "username": BENCH_USERNAME,
            "password": BENCH_PASSWORD,
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
        raise SystemExit(f"Signing in failed: {status} {headers.get('Location')}")
    return session.cookies


def _print_query_counts(pages: list[Page], cookies: dict[str, str]) -> None:
    """The same requests through Django's test client, in this process, against the bench
    database and the same session (cached in Redis, as the server reads it)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.cookies["sessionid"] = cookies["sessionid"]
    print("SQL queries per request (Django's test client, same database and session;")
    print("the connection health check's SELECT 1 is not a query Django counts):")
    for page in pages:
        client.get(page.path)  # the first request may fill caches (the session from Redis)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page.path)
        if response.status_code != 200:
            raise SystemExit(f"{page.path} answered {response.status_code} to the test client.")
        print(f"  {page.label:<16} {page.path:<24} {len(queries):>3} queries")
    connection.close()


def _measure(
    pages: list[Page], port: int, cookies: dict[str, str], args: argparse.Namespace
) -> dict[str, list[float]]:
    from okrly import dashcache

    by_key = {p.key: p for p in pages}
    rng = random.Random(7)
    warmup = [p.key for p in pages if not p.key.endswith("_cold") for _ in range(args.warmup)]
    rng.shuffle(warmup)
    warm = [p.key for p in pages if p.key != "ping" and not p.key.endswith("_cold")]
    cold = [p.key for p in pages if p.key.endswith("_cold")]
    schedule: list[str] = []
    for _ in range(args.rounds):
        one = ["ping"] * args.pings_per_round + warm
        rng.shuffle(one)
        schedule += one
    # Cold pages last: each bumps the version, which would turn the warm pages cold too.
    cold_schedule = [key for _ in range(args.rounds) for key in cold]
    rng.shuffle(cold_schedule)

    def run(keys: list[str]) -> list[tuple[str, float]]:
        session = HttpSession(port, cookies=dict(cookies))
        out = []
        for key in keys:
            page = by_key[key]
            if key.endswith("_cold"):
                dashcache.bump()  # as any write would: the next read recomputes
            status, _, body, elapsed = session.request("GET", page.path)
            if status != 200 or page.marker.encode() not in body:
                raise SystemExit(f"{page.path} answered {status} without {page.marker!r}.")
            out.append((key, elapsed))
        session.close()
        return out

    n = max(1, args.concurrency)
    print(f"\nWarm-up: {len(warmup)} requests. Measuring {len(schedule)} requests", end="")
    print(f" with {n} client thread{'s' if n > 1 else ''}...")
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(run, [warmup[i::n] for i in range(n)]))
        started = time.perf_counter()
        results = [r for part in pool.map(run, [schedule[i::n] for i in range(n)]) for r in part]
        results += run(cold_schedule)
    wall = time.perf_counter() - started
    print(f"Measured in {wall:.1f} s ({len(results) / wall:.0f} requests/s).", end=" ")
    # Other work on this machine slows the long requests most: say how busy it was.
    print("Load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}.".format(*os.getloadavg()))
    timings: dict[str, list[float]] = defaultdict(list)
    for key, elapsed in results:
        timings[key].append(elapsed * 1000)
    return timings


# --- 4. report ----------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _report(pages: list[Page], timings: dict[str, list[float]], args: argparse.Namespace) -> bool:
    ping_median = statistics.median(timings["ping"])
    ping_p95 = _p95(timings["ping"])
    passed = True
    print(
        f"\n{'page':<16} {'n':>4} {'median ms':>10} {'p95 ms':>8} "
        f"{'median ×ping':>13} {'p95 ×ping':>10}  bar (medians)"
    )
    for page in pages:
        values = timings[page.key]
        median, p95 = statistics.median(values), _p95(values)
        verdict = ""
        if page.bar is not None:
            ok = median / ping_median <= page.bar
            passed = passed and ok
            verdict = f"≤ {page.bar:g}×  {'PASS' if ok else 'FAIL'}"
        print(
            f"{page.label:<16} {len(values):>4} {median:>10.2f} {p95:>8.2f} "
            f"{median / ping_median:>12.1f}× {p95 / ping_p95:>9.1f}×  {verdict}"
        )
    print(f"\nBar {'met' if passed else 'MISSED'} ({args.workers} gunicorn sync workers).")
    return passed


if __name__ == "__main__":
    sys.exit(main())
