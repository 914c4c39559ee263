"""Job timings: the weekly prompt job for 20,000 owners, and the escalation ladders with
100,000 rows not yet due.

``run()`` recreates the PostgreSQL database ``okrly_bench_jobs`` (its name contains "bench":
it is dropped first) and does the work in a subprocess, ``python -m bench.jobs --worker``,
configured for that database (``okrly.settings.bench`` with ``BENCH_DATABASE_URL``), which
prints its measurements as JSON. The caller's own Django connection is never touched.

The worker migrates, then bulk-creates 20,000 owners (a profile each, time zones from
Auckland to Los Angeles), 200 teams and one key result per owner in an active quarter, with
their status rows and team figures (``ownership.status.refresh_all``). After each bulk insert
it runs ANALYZE, as autovacuum soon would in production: otherwise the planner picks plans
for tables it believes empty.

- **Ladders** (okrly.ladder.climb; the beat jobs for dependencies, missed check-ins,
  definitions, early escalations, responses with their next steps, and grades, the last in
  a reviewing quarter before the active one): for each, 5 rows due now and 10 not due; the
  job runs and its SQL statements are counted. Then 99,990 more rows not due are
  added (100,000 in all) and the same job runs again on the same due rows. Each run is
  inside a transaction rolled back afterwards, so both climb the same rows; its savepoint
  statements (there only because of that outer transaction) are not counted.
- **Prompts** (checkins.prompts.checkins_send_prompts) at a moment when the quarter's
  check-in hour (Monday 9:00 local) has come in every owner's zone, within the grace
  period: the worker's CPU time (``time.process_time``), wall time and SQL statements.
  The job queues its e-mails as tasks, one per batch of NOTIFICATION_EMAIL_BATCH_SIZE,
  each sending over one SMTP connection; the worker records those tasks instead of
  publishing them, then sends them itself with the locmem e-mail backend (no SMTP), timed
  apart: that is another worker's time in production, not the prompt job's.

Run it alone as ``python -m bench.jobs``: prints the figures, exits 1 on a missed bar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.figures import Figure, print_figures

ROOT = Path(__file__).resolve().parent.parent
SECTION = "jobs"
DATABASE = "okrly_bench_jobs"
OWNERS = 20_000
NOT_DUE = 100_000
FEW_NOT_DUE = 10
DUE = 5
PROMPT_CPU_BAR = 4.0
# Owners' zones: the check-in moment (Monday 9:00 local) falls between Sunday 20:00 UTC
# (Auckland) and Monday 17:00 UTC (Los Angeles), all within the 24-hour grace at NOW_HOUR.
ZONES = [
    "Pacific/Auckland", "Australia/Sydney", "Australia/Adelaide", "Asia/Tokyo", "Asia/Seoul",
    "Asia/Singapore", "Asia/Kathmandu", "Asia/Kolkata", "Asia/Dubai", "Africa/Nairobi",
    "Asia/Jerusalem", "Europe/Berlin", "Europe/Paris", "Africa/Lagos", "Europe/London", "UTC",
    "America/Sao_Paulo", "America/St_Johns", "America/New_York", "America/Toronto",
    "America/Chicago", "America/Denver", "America/Los_Angeles",
]  # fmt: skip
NOW_HOUR = 19  # Monday, UTC


# --- the parent -----------------------------------------------------------------------------


def run() -> list[Figure]:
    """Recreates ``okrly_bench_jobs``, runs the worker on it and returns its figures."""
    base = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/okrly_bench")
    url = base.rsplit("/", 1)[0] + "/" + DATABASE
    _recreate(url)
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "okrly.settings.bench",
        "EMAIL_URL": "memorymail://",  # the locmem backend: no SMTP,
    }
    print(f"\nJobs: worker on {DATABASE} (seeding {OWNERS:,} owners, ladders, prompts)...")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.jobs", "--worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,  # the JSON; its progress comes on stderr, as it goes
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout)
        raise SystemExit(f"The jobs worker failed ({done.returncode}).")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"Jobs measured in {time.perf_counter() - started:.1f} s.")
    return figures(result)


def _recreate(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit(f"Refusing to recreate {name!r}: its name must contain 'bench'.")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def figures(result: dict[str, Any]) -> list[Figure]:
    prompts = result["prompts"]
    out = [
        Figure(SECTION, f"prompt job, {OWNERS:,} owners, worker CPU time", prompts["cpu"], " s",
               f"≤ {PROMPT_CPU_BAR:g} s", prompts["cpu"] <= PROMPT_CPU_BAR),
        Figure(SECTION, "prompt job, wall time", prompts["wall"], " s", "", None),
        Figure(SECTION, "prompt job, SQL statements", prompts["queries"], "", "", None),
        Figure(SECTION, "prompts sent", prompts["sent"], "", f"= {OWNERS:,}",
               prompts["sent"] == OWNERS),
        Figure(SECTION, f"prompt e-mails, {prompts['email_batches']} batches, CPU time "
               "(another worker)", prompts["email_cpu"], " s", "", None),
    ]  # fmt: skip
    for name, ladder in result["ladders"].items():
        few, many = ladder["few"], ladder["many"]
        out += [
            Figure(SECTION, f"ladder {name}: statements, {NOT_DUE:,} vs {FEW_NOT_DUE} not due",
                   many["queries"], "", f"equal ({few['queries']})",
                   many["queries"] == few["queries"]),
            Figure(SECTION, f"ladder {name}: time, {NOT_DUE:,} not due ({few['wall']*1000:.0f} "
                   f"ms with {FEW_NOT_DUE})", many["wall"] * 1000, " ms", "", None),
        ]  # fmt: skip
    return out


# --- the worker -----------------------------------------------------------------------------


def count_statements(sqls: list[str]) -> int:
    """SQL statements, less the savepoints the measuring transaction adds."""
    return sum(1 for s in sqls if "SAVEPOINT" not in s.upper())


def moment_now(today: date) -> datetime:
    """The last Monday at NOW_HOUR UTC on or before ``today``."""
    monday = today - timedelta(days=today.weekday())
    return datetime(monday.year, monday.month, monday.day, NOW_HOUR, tzinfo=UTC)


@dataclass
class World:
    now: datetime
    quarter: Any
    users: list[Any]
    teams: list[Any]
    key_results: list[Any]


def _worker() -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    _log(f"migrated in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    world = _seed(moment_now(datetime.now(UTC).date()))
    _log(f"seeded {OWNERS:,} owners in {time.perf_counter() - started:.1f} s")
    ladders = {}
    for name, (add, job) in _ladders(world).items():
        started = time.perf_counter()
        add(DUE, True, 0)
        add(FEW_NOT_DUE, False, 0)
        _analyze()
        few = _measure(lambda job=job: job(world.now))  # type: ignore[misc]
        add(NOT_DUE - FEW_NOT_DUE, False, FEW_NOT_DUE)
        _analyze()
        many = _measure(lambda job=job: job(world.now))  # type: ignore[misc]
        ladders[name] = {"few": few, "many": many}
        _log(f"ladder {name}: {few['queries']} vs {many['queries']} statements "
             f"({time.perf_counter() - started:.1f} s with seeding)")  # fmt: skip
    _analyze()
    return {"ladders": ladders, "prompts": _prompts(world)}


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _analyze() -> None:
    """Fresh planner statistics after a bulk insert, as autovacuum would soon give them: a
    plan chosen for yesterday's empty tables is not what production runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(call: Callable[[], Any]) -> dict[str, float]:
    """Runs ``call`` once, rolled back: its statements, CPU and wall time."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            cpu, wall = time.process_time(), time.perf_counter()
            result = call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        transaction.set_rollback(True)
    if not getattr(result, "escalated", 0):
        raise SystemExit(f"The job climbed nothing: {result}")
    return {
        "queries": count_statements([q["sql"] for q in captured.captured_queries]),
        "cpu": cpu,
        "wall": wall,
    }


def _seed(now: datetime, owners: int = OWNERS) -> World:
    """``owners`` owners, a key result each, in teams of 100 (at least two teams)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction

    from objectives.models import KeyResult, Objective
    from okrly.models import Membership, Profile, Quarter, Team
    from ownership import status

    User = get_user_model()
    today = now.date()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"o{i:05d}", first_name="Owner", last_name=f"{i:05d}",
                  email=f"o{i:05d}@example.com", password="!") for i in range(owners)],
            batch_size=2000,
        )  # fmt: skip
        Profile.objects.bulk_create(
            [
                Profile(user=u, display_name=f"Owner {i:05d}", timezone=ZONES[i % len(ZONES)])
                for i, u in enumerate(users)
            ],
            batch_size=2000,
        )
        leadership, _ = Group.objects.get_or_create(name=_leadership_group())
        leadership.user_set.add(*users[:3])
        n_teams = max(2, owners // 100)
        teams = Team.objects.bulk_create(
            [
                Team(name=f"Team {t:03d}", slug=f"team-{t:03d}", lead=users[t])
                for t in range(n_teams)
            ]
        )
        Team.objects.refresh_departments()  # bulk_create skips Team.save, which keeps it
        Membership.objects.bulk_create(
            [Membership(user=u, team=teams[i % n_teams]) for i, u in enumerate(users)],
            batch_size=2000,
        )
        start = today - timedelta(weeks=9)
        quarter = Quarter.objects.create(
            name="Bench jobs Q",
            start=start,
            end=start + timedelta(days=13 * 7 - 1),
            status=Quarter.Status.ACTIVE,
            checkin_weekday=Quarter.Weekday.MONDAY,
            checkin_hour=9,
        )
        per_team = -(-owners // n_teams)
        objectives = Objective.objects.bulk_create(
            [
                Objective(quarter=quarter, team=team, title=f"Objective {r} of {team.name}",
                          rank=r)
                for team in teams
                for r in range(1, -(-per_team // 4) + 1)
            ],
            batch_size=2000,
        )  # fmt: skip
        by_team: dict[int, list[Any]] = {}
        for objective in objectives:
            by_team.setdefault(objective.team_id, []).append(objective)
        key_results = KeyResult.objects.bulk_create(
            [
                KeyResult(
                    objective=by_team[teams[i % n_teams].pk][(i // n_teams) // 4],
                    title=f"Key result of owner {i:05d}",
                    start_value=Decimal(0),
                    target_value=Decimal(100),
                    current_value=Decimal(10),
                    direction=KeyResult.Direction.INCREASE,
                    owner=u,
                )
                for i, u in enumerate(users)
            ],
            batch_size=2000,
        )
        # bulk_create skips the services that keep each key result's status row and its
        # team's figures: written here, so the prompt job adds its missed check-ins to them
        # as it does in production.
        status.refresh_all(today=today)
    return World(now, quarter, users, teams, key_results)


def _leadership_group() -> str:
    from django.conf import settings

    return str(settings.LEADERSHIP_GROUP)


def _ladders(world: World) -> dict[str, tuple[Callable[[int, bool, int], None], Any]]:
    """Each beat job that climbs a ladder: how to add its rows (``n`` of them, due or not,
    numbered from ``offset``) and the job."""
    from checkins.missed import checkins_escalate_missed
    from dependencies.escalation import dependencies_escalate
    from objectives.reminders import definitions_remind
    from reviews.early_escalation_ladder import early_escalations_escalate
    from reviews.grade_ladder import grades_remind
    from reviews.response_ladders import responses_escalate

    def adder(add: Callable[[World, int, bool, int], None]) -> Callable[[int, bool, int], None]:
        return lambda n, due, offset: add(world, n, due, offset)

    return {
        "dependencies": (adder(_add_dependencies), lambda now: dependencies_escalate(now=now)),
        "missed check-ins": (adder(_add_prompts), lambda now: checkins_escalate_missed(now=now)),
        "definitions": (adder(_add_definitions), lambda now: definitions_remind(now=now)),
        "early escalations": (
            adder(_add_early_escalations),
            lambda now: early_escalations_escalate(now=now),
        ),
        "responses and next steps": (
            adder(_add_responses),
            lambda now: responses_escalate(now=now),
        ),
        "grades": (adder(_add_grades), lambda now: grades_remind(now=now)),
    }


def _when(world: World, due: bool) -> datetime:
    """The next rung's time: an hour ago when due, a week ahead when not."""
    return world.now - timedelta(hours=1) if due else world.now + timedelta(days=7)


def _add_definitions(world: World, n: int, due: bool, offset: int) -> None:
    """Published definition versions no one has read: the due ones are version 1 of the
    first DUE objectives; the others are versions of the other objectives (never newer
    versions of a due one, which would supersede it and stop its ladder)."""
    from objectives.models import DefinitionVersion, Objective

    objectives = list(
        Objective.objects.filter(quarter=world.quarter).order_by("pk").values_list("pk", flat=True)
    )
    others = objectives[DUE:]
    rows = []
    for j in range(offset, offset + n):
        objective, number = (objectives[j], 1) if due else (
            others[j % len(others)], 1 + j // len(others))  # fmt: skip
        rows.append(
            DefinitionVersion(
                objective_id=objective,
                number=number,
                means="What it means.",
                does_not_mean="What it does not mean.",
                author=world.users[0],
                next_escalation_at=_when(world, due),
            )
        )
    DefinitionVersion.objects.bulk_create(rows, batch_size=5000)


def _add_early_escalations(world: World, n: int, due: bool, offset: int) -> None:
    """Open early escalations, asked of the next owner: due ones unanswered past their
    deadline, the others with the deadline a week ahead."""
    from reviews.models import EarlyEscalation

    owners = len(world.users)
    deadline = _when(world, due)
    EarlyEscalation.objects.bulk_create(
        [
            EarlyEscalation(
                key_result=world.key_results[j % owners],
                raised_by=world.users[j % owners],
                need=f"A decision on item {j}",
                asked_of=world.users[(j + 1) % owners],
                needed_by=deadline.date(),
                raised_at=world.now - timedelta(days=3),
                answer_due_at=deadline,
                next_escalation_at=deadline,
            )
            for j in range(offset, offset + n)
        ],
        batch_size=5000,
    )


def _add_responses(world: World, n: int, due: bool, offset: int) -> None:
    """Responses to a missed key result not recorded yet, each with its next step: due ones
    past their deadline (both ladders), the others due a week ahead."""
    from reviews.models import MissResponse, NextStep

    owners = len(world.users)
    when = _when(world, due)
    responses = MissResponse.objects.bulk_create(
        [
            MissResponse(
                kind=MissResponse.Kind.KEY_RESULT_MISSED,
                subject_key=f"bench-{'due' if due else 'later'}:{j}",
                quarter=world.quarter,
                key_result=world.key_results[j % owners],
                accountable=world.users[j % owners],
                committed="100",
                delivered="40",
                opened_at=world.now - timedelta(days=10),
                due_at=when,
                next_escalation_at=when,
            )
            for j in range(offset, offset + n)
        ],
        batch_size=5000,
    )
    NextStep.objects.bulk_create(
        [
            NextStep(
                response=response,
                what="Agree the new date with the provider team",
                owner=response.accountable,
                due=when.date() - timedelta(days=1),
                next_escalation_at=when,
            )
            for response in responses
        ],
        batch_size=5000,
    )


def _add_grades(world: World, n: int, due: bool, offset: int) -> None:
    """Ungraded key results of the quarter before, now reviewing (made on first use): one
    key result and its grade per row."""
    from objectives.models import KeyResult, Objective
    from okrly.models import Quarter
    from reviews.models import Grade

    start = world.quarter.start - timedelta(days=91)
    reviewing, _ = Quarter.objects.get_or_create(
        name="Bench jobs Q-previous",
        defaults={"start": start, "end": world.quarter.start - timedelta(days=1),
                  "status": Quarter.Status.REVIEWING},
    )  # fmt: skip
    objectives = list(Objective.objects.filter(quarter=reviewing).order_by("pk"))
    if not objectives:
        objectives = Objective.objects.bulk_create(
            [Objective(quarter=reviewing, team=t, title=f"Last quarter of {t.name}", rank=1)
             for t in world.teams]
        )  # fmt: skip
    owners = len(world.users)
    key_results = KeyResult.objects.bulk_create(
        [
            KeyResult(
                objective=objectives[j % len(objectives)],
                title=f"Last quarter's key result {'due ' if due else ''}{j}",
                start_value=Decimal(0),
                target_value=Decimal(100),
                current_value=Decimal(60),
                direction=KeyResult.Direction.INCREASE,
                owner=world.users[j % owners],
            )
            for j in range(offset, offset + n)
        ],
        batch_size=5000,
    )
    Grade.objects.bulk_create(
        [
            Grade(key_result=kr, quarter=reviewing, escalation_rung=0,
                  next_escalation_at=_when(world, due))
            for kr in key_results
        ],
        batch_size=5000,
    )  # fmt: skip


def _add_dependencies(world: World, n: int, due: bool, offset: int) -> None:
    """Committed dependencies: due ones past their date with their first rung due now; the
    others due in two months. Rank 1 holds the due ones; ranks 2.. the others."""
    from dependencies.models import Dependency
    from okrly.zones import end_of_day

    now, krs, teams, owners = world.now, world.key_results, world.teams, len(world.users)
    rows = []
    for j in range(offset, offset + n):
        i, rank = (j, 1) if due else (j % owners, 2 + j // owners)
        kr = krs[i]
        team = teams[i % len(teams)]
        provider = teams[(i + 1) % len(teams)]
        due_date = now.date() - timedelta(days=3) if due else now.date() + timedelta(days=60)
        rows.append(
            Dependency(
                key_result=kr,
                requesting_team=team,
                provider_team=provider,
                deliverable=f"Deliverable {j} for {kr.title}",
                due_date=due_date,
                responsible=world.users[(i + 1) % owners],
                requested_by=kr.owner,
                rank=rank,
                status=Dependency.Status.COMMITTED,
                requested_at=now - timedelta(days=20),
                committed_at=now - timedelta(days=19),
                escalation_trigger=Dependency.Trigger.OVERDUE,
                next_escalation_at=now - timedelta(hours=1)
                if due
                else end_of_day(due_date, "UTC"),  # months away in any zone
            )
        )
    Dependency.objects.bulk_create(rows, batch_size=5000)


def _add_prompts(world: World, n: int, due: bool, offset: int) -> None:
    """Sent prompts of earlier weeks: the due ones (week 1) with their first rung due now,
    the others (weeks 2..) with it a week ahead. The owners have checked in for none."""
    from checkins.models import CheckInPrompt

    now, owners = world.now, len(world.users)
    rows = []
    for j in range(offset, offset + n):
        i, week = (j, 1) if due else (j % owners, 2 + j // owners)
        rows.append(
            CheckInPrompt(
                owner=world.users[i],
                quarter=world.quarter,
                week=week,
                due_at=now - timedelta(hours=25),
                sent_at=now - timedelta(hours=25),
                next_escalation_at=now - timedelta(hours=1) if due else now + timedelta(days=7),
            )
        )
    CheckInPrompt.objects.bulk_create(rows, batch_size=5000)


def _prompts(world: World) -> dict[str, Any]:
    from unittest import mock

    from django.core import mail
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from checkins.prompts import checkins_send_prompts
    from okrly import outbox
    from okrly.tasks import notifications_send_email_task

    batches: list[list[int]] = []
    with (
        mock.patch.object(notifications_send_email_task, "delay", batches.append),
        CaptureQueriesContext(connection) as captured,
    ):
        cpu, wall = time.process_time(), time.perf_counter()
        done = checkins_send_prompts(now=world.now)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    _log(f"prompt job: {done.prompts:,} prompts in {done.batches} batches, {cpu:.2f} s CPU, "
         f"{wall:.2f} s wall, {len(captured)} statements, {len(batches)} e-mail tasks")  # fmt: skip
    mail.outbox = []
    email_cpu = time.process_time()
    for batch in batches:
        outbox.notifications_send_email(notification_ids=batch)
    email_cpu = time.process_time() - email_cpu
    _log(f"prompt e-mails: {len(mail.outbox):,} sent (locmem) in {email_cpu:.2f} s CPU")
    return {
        "cpu": cpu,
        "wall": wall,
        "queries": len(captured),
        "sent": done.prompts,
        "email_batches": len(batches),
        "email_cpu": email_cpu,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--worker"]:
        print(json.dumps(_worker()))
        return 0
    sys.path.insert(0, str(ROOT))
    return 0 if print_figures(run()) else 1


if __name__ == "__main__":
    sys.exit(main())
