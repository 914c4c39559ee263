"""The weekly check-in prompt under controlled time: at the quarter's hour in each owner's own
time zone, once per owner and week, never late, never to someone who is away.

2026 Q4 runs from Thursday 1 October to Thursday 31 December 2026, so week 1 is 1-7 October
and Monday 16 November is in week 7. Check-ins are on Monday at 09:00 (the model's default).
The server's time zone is UTC.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import OperationalError, close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from checkins import prompts
from checkins.models import CheckInPrompt
from checkins.tasks import checkins_send_prompts_task
from objectives.models import KeyResult
from okrly.models import Notification, Profile, Quarter
from okrly.tasks import notifications_send_email_task
from tests.factories import KeyResultFactory, ObjectiveFactory, QuarterFactory, UserFactory

# Monday 16 November 2026, 09:00 in Paris.
PARIS_MONDAY = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


@pytest.fixture
def travel() -> Iterator[Any]:
    with time_machine.travel("2026-11-14 12:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture
def queued_emails() -> Iterator[mock.MagicMock]:
    """The e-mail task's ``delay``: nothing reaches a broker, each call is recorded."""
    with mock.patch.object(notifications_send_email_task, "delay") as delay:
        yield delay


def owner_in(objective: Any, zone: str, username: str, **profile: Any) -> Any:
    """A person in ``zone`` who owns a key result of ``objective``."""
    user = UserFactory(username=username, first_name=username.title())
    Profile.objects.filter(user=user).update(timezone=zone, **profile)
    KeyResultFactory(objective=objective, owner=user, title=f"{username.title()}'s key result")
    return user


def prompted() -> list[tuple[str, int]]:
    """(owner, week) of every prompt, in the order they fell due."""
    return list(
        CheckInPrompt.objects.order_by("due_at", "owner__username").values_list(
            "owner__username", "week"
        )
    )


def weeks_of(user: Any) -> list[int]:
    return sorted(CheckInPrompt.objects.filter(owner=user).values_list("week", flat=True))


def run_at(travel: Any, moment: datetime | str) -> prompts.PromptRun:
    travel.move_to(moment)
    return prompts.checkins_send_prompts()


# --- timing, in each owner's own zone ----------------------------------------------------

# Monday 16 November 09:00 where each owner lives, in UTC. Kiritimati (UTC+14) is across the
# date line from the server: its Monday morning is still Sunday evening in UTC.
MONDAY_NINE = [
    pytest.param("Pacific/Kiritimati", "2026-11-15 19:00:00+00:00", id="kiritimati-utc+14"),
    pytest.param("Asia/Kolkata", "2026-11-16 03:30:00+00:00", id="kolkata-utc+5:30"),
    pytest.param("Europe/Paris", "2026-11-16 08:00:00+00:00", id="paris-utc+1"),
    pytest.param("America/New_York", "2026-11-16 14:00:00+00:00", id="new-york-utc-5"),
    pytest.param("Pacific/Pago_Pago", "2026-11-16 20:00:00+00:00", id="pago-pago-utc-11"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("zone", "nine_am"), MONDAY_NINE)
def test_owner_is_prompted_at_nine_on_monday_in_their_own_time_zone(
    travel: Any, quarter: Any, objective: Any, zone: str, nine_am: str
) -> None:
    olga = owner_in(objective, zone, "olga")
    moment = datetime.fromisoformat(nine_am)

    assert run_at(travel, moment - timedelta(minutes=1)).prompts == 0
    assert not CheckInPrompt.objects.exists()
    assert not Notification.objects.exists()

    run = run_at(travel, moment)
    assert (run.prompts, run.batches, run.zones_due) == (1, 1, [zone])
    prompt = CheckInPrompt.objects.get()
    local = prompt.due_at.astimezone(ZoneInfo(zone))
    assert (local.date(), local.hour, local.minute) == (date(2026, 11, 16), 9, 0)
    assert prompt.due_at == moment
    assert prompt.sent_at == moment
    # The week of the owner's local Monday, whatever the date is in UTC.
    assert prompt.owner == olga
    assert prompt.week == quarter.week_of(local.date()) == 7
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.link) == (olga, "checkin_prompt", "/")
    assert note.subject == "Week 7 check-in: three questions per key result"

    # Later runs that day (still within the grace period) send nothing more.
    assert run_at(travel, moment + timedelta(hours=3)).prompts == 0
    assert (CheckInPrompt.objects.count(), Notification.objects.count()) == (1, 1)


@pytest.mark.django_db
def test_nine_oclock_moves_round_the_world_and_each_owner_is_prompted_in_turn(
    travel: Any, objective: Any
) -> None:
    zones = [param.values for param in MONDAY_NINE]
    for zone, _ in zones:
        owner_in(objective, str(zone), str(zone).split("/")[-1].lower())

    expected: list[tuple[str, int]] = []
    for zone, nine_am in zones:
        moment = datetime.fromisoformat(str(nine_am))
        assert run_at(travel, moment - timedelta(minutes=1)).prompts == 0
        assert prompted() == expected
        assert run_at(travel, moment).prompts == 1
        expected.append((str(zone).split("/")[-1].lower(), 7))
        assert prompted() == expected
    assert Notification.objects.filter(kind="checkin_prompt").count() == len(zones)


@pytest.mark.django_db
def test_week_is_the_owners_local_week_across_the_date_line(
    travel: Any, quarter: Any, objective: Any
) -> None:
    """With check-ins on Thursday, the quarter's first weekday, Kiritimati's 09:00 is still
    Wednesday in UTC: on the server's calendar, the week before (or, on 1 October, the day
    before the quarter began)."""
    quarter.checkin_weekday = Quarter.Weekday.THURSDAY
    quarter.save()
    owner_in(objective, "Pacific/Kiritimati", "kiri")
    owner_in(objective, "Pacific/Pago_Pago", "pago")

    assert run_at(travel, "2026-09-30 18:59:00+00:00").prompts == 0
    assert run_at(travel, "2026-09-30 19:00:00+00:00").prompts == 1  # Thu 1 Oct 09:00 local
    assert prompted() == [("kiri", 1)]
    assert run_at(travel, "2026-10-01 20:00:00+00:00").prompts == 1  # Thu 1 Oct 09:00 local
    assert prompted() == [("kiri", 1), ("pago", 1)]

    assert run_at(travel, "2026-10-07 19:00:00+00:00").prompts == 1  # Thu 8 Oct in Kiritimati
    assert prompted() == [("kiri", 1), ("pago", 1), ("kiri", 2)]
    assert run_at(travel, "2026-10-08 20:00:00+00:00").prompts == 1  # Thu 8 Oct in Pago Pago
    assert prompted()[-1] == ("pago", 2)

    # The quarter's last day, Thursday 31 December: week 14 on both sides of the date line.
    assert run_at(travel, "2026-12-30 19:00:00+00:00").prompts == 1
    assert run_at(travel, "2026-12-31 20:00:00+00:00").prompts == 1
    assert prompted()[-2:] == [("kiri", 14), ("pago", 14)]
    # A week later is outside the quarter.
    assert run_at(travel, "2027-01-06 19:00:00+00:00").prompts == 0
    assert run_at(travel, "2027-01-07 20:00:00+00:00").prompts == 0


# --- who is prompted ------------------------------------------------------------------------


@pytest.mark.django_db
def test_owner_out_of_office_is_not_prompted_until_the_week_after(
    travel: Any, objective: Any
) -> None:
    olga = owner_in(objective, "Europe/Paris", "olga", out_of_office_until=date(2026, 11, 16))
    tim = owner_in(objective, "Europe/Paris", "tim", out_of_office_until=date(2026, 11, 15))

    assert run_at(travel, PARIS_MONDAY).prompts == 1  # Tim is back since Monday
    assert run_at(travel, PARIS_MONDAY + timedelta(hours=20)).prompts == 0  # within the grace
    assert weeks_of(olga) == []
    assert not Notification.objects.filter(recipient=olga).exists()

    assert run_at(travel, PARIS_MONDAY + timedelta(days=7)).prompts == 2  # Monday 23 November
    assert weeks_of(olga) == [8]
    assert weeks_of(tim) == [7, 8]
    assert Notification.objects.filter(recipient=olga, kind="checkin_prompt").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Quarter.Status.PLANNING, Quarter.Status.CLOSED])
def test_a_quarter_that_is_not_active_prompts_nobody(
    travel: Any, quarter: Any, objective: Any, status: str
) -> None:
    owner_in(objective, "Europe/Paris", "olga")
    quarter.status = status
    quarter.save()

    run = run_at(travel, PARIS_MONDAY)
    assert (run.prompts, run.zones_due) == (0, [])
    assert not CheckInPrompt.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_only_active_owners_of_a_key_result_in_the_active_quarter_are_prompted(
    travel: Any, objective: Any, growth: Any
) -> None:
    olga = owner_in(objective, "Europe/Paris", "olga")
    KeyResultFactory(objective=objective, owner=olga, title="A second key result")
    tim = UserFactory(username="tim")  # no key result at all
    Profile.objects.filter(user=tim).update(timezone="Europe/Paris")
    last_quarter = QuarterFactory(
        name="2026 Q3", start=date(2026, 7, 1), end=date(2026, 9, 30), status="closed"
    )
    owner_in(ObjectiveFactory(quarter=last_quarter, team=growth), "Europe/Paris", "quinn")
    gone = owner_in(objective, "Europe/Paris", "gone")
    gone.is_active = False
    gone.save()

    assert run_at(travel, PARIS_MONDAY).prompts == 1
    assert prompted() == [("olga", 7)]  # once, though she owns two key results
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["olga"]


# --- once, and never late ------------------------------------------------------------------


@pytest.mark.django_db
def test_running_the_job_twice_prompts_once(
    travel: Any,
    objective: Any,
    queued_emails: mock.MagicMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    owner_in(objective, "Europe/Paris", "olga")
    owner_in(objective, "America/New_York", "nina")
    travel.move_to("2026-11-16 14:00:00+00:00")  # 15:00 in Paris, 09:00 in New York

    with django_capture_on_commit_callbacks(execute=True):
        first = prompts.checkins_send_prompts()
        second = prompts.checkins_send_prompts()
    # The beat task, called the way a worker calls it.
    assert checkins_send_prompts_task.apply().get() == {"prompts": 0, "batches": 0}

    assert (first.prompts, second.prompts) == (2, 0)
    assert prompted() == [("olga", 7), ("nina", 7)]
    assert Notification.objects.count() == 2
    queued = sorted(pk for call in queued_emails.call_args_list for pk in call.args[0])
    assert queued == sorted(Notification.objects.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_prompt_each_owner_once(travel: Any, objective: Any) -> None:
    """Four workers at once (threads with their own connections), in small batches."""
    owners = [
        owner_in(objective, zone, f"{zone.split('/')[-1].lower()}{n}")
        for zone in ("Europe/Paris", "America/New_York", "Asia/Kolkata")
        for n in range(4)
    ]
    travel.move_to("2026-11-16 14:00:00+00:00")
    barrier = threading.Barrier(4)
    sent: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            sent.append(prompts.checkins_send_prompts(batch_size=2).prompts)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    with mock.patch.object(notifications_send_email_task, "delay") as delay:
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sum(sent) == len(owners)
    for owner in owners:
        assert weeks_of(owner) == [7]
        assert Notification.objects.filter(recipient=owner, kind="checkin_prompt").count() == 1
    queued = sorted(pk for call in delay.call_args_list for pk in call.args[0])
    assert queued == sorted(Notification.objects.values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first_run_after", "sent"),
    [
        pytest.param(timedelta(hours=23, minutes=59), 1, id="late-but-within-grace"),
        pytest.param(timedelta(hours=24), 1, id="exactly-the-grace"),
        pytest.param(timedelta(hours=24, minutes=1), 0, id="past-the-grace"),
    ],
)
def test_a_prompt_missed_by_more_than_the_grace_period_is_not_sent_late(
    travel: Any, objective: Any, settings: Any, first_run_after: timedelta, sent: int
) -> None:
    assert settings.CHECKIN_PROMPT_GRACE_HOURS == 24
    olga = owner_in(objective, "Europe/Paris", "olga")

    assert run_at(travel, PARIS_MONDAY + first_run_after).prompts == sent
    assert Notification.objects.count() == sent
    # The week after, the job is on time again.
    assert run_at(travel, PARIS_MONDAY + timedelta(days=7)).prompts == 1
    assert weeks_of(olga) == ([7, 8] if sent else [8])


@pytest.mark.django_db
def test_the_grace_period_follows_the_setting(travel: Any, objective: Any, settings: Any) -> None:
    settings.CHECKIN_PROMPT_GRACE_HOURS = 2
    owner_in(objective, "Europe/Paris", "olga")
    owner_in(objective, "Asia/Kolkata", "kamal")  # 09:00 in Kolkata is 03:30 UTC

    run = run_at(travel, PARIS_MONDAY + timedelta(hours=1, minutes=59))
    assert (run.prompts, run.zones_due) == (1, ["Europe/Paris"])
    assert prompted() == [("olga", 7)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first_run", "sent"),
    [
        pytest.param("2026-10-25 06:59:00+00:00", 1, id="23h59-later"),
        pytest.param("2026-10-25 07:01:00+00:00", 0, id="24h01-later"),
    ],
)
def test_the_grace_period_is_real_hours_when_the_clocks_go_back(
    travel: Any, quarter: Any, objective: Any, first_run: str, sent: int
) -> None:
    """Saturday 24 October 09:00 in Paris is 07:00 UTC; Paris clocks go back an hour early
    on Sunday 25 October, so 24 real hours later they read only 08:00."""
    quarter.checkin_weekday = Quarter.Weekday.SATURDAY
    quarter.save()
    owner_in(objective, "Europe/Paris", "olga")

    assert run_at(travel, first_run).prompts == sent
    if sent:
        prompt = CheckInPrompt.objects.get()
        assert prompt.due_at == datetime(2026, 10, 24, 7, 0, tzinfo=UTC)
        assert prompt.week == 4


@pytest.mark.django_db
def test_a_batch_that_fails_leaves_nothing_behind_and_the_next_run_sends_it(
    travel: Any, objective: Any
) -> None:
    """A prompt row without its notification would count as sent: the owner would never be
    asked, yet the missed-check-in ladder would still start."""
    olga = owner_in(objective, "Europe/Paris", "olga")
    travel.move_to(PARIS_MONDAY)
    notifications = connection.ops.quote_name(Notification._meta.db_table)

    def lost_at_notifications(execute: Any, sql: str, *args: Any) -> Any:
        if sql.startswith(f"INSERT INTO {notifications}"):
            raise OperationalError("connection lost")
        return execute(sql, *args)

    with connection.execute_wrapper(lost_at_notifications), pytest.raises(OperationalError):
        prompts.checkins_send_prompts()
    assert not CheckInPrompt.objects.exists()

    assert run_at(travel, PARIS_MONDAY + timedelta(minutes=5)).prompts == 1
    assert weeks_of(olga) == [7]
    assert Notification.objects.get().recipient == olga


# --- cost at scale --------------------------------------------------------------------------

ZONES_AT_SCALE = ["Pacific/Kiritimati", "Asia/Kolkata", "Europe/Paris", "UTC", "America/New_York"]


def bulk_owners(objective: Any, first: int, count: int) -> list[int]:
    """``count`` owners, each with a profile and a key result, spread evenly over five zones.

    bulk_create skips the post_save signal that makes profiles, so they are made here too."""
    users = User.objects.bulk_create(
        User(username=f"bulk{n:05d}", email=f"bulk{n:05d}@example.com", password="!")
        for n in range(first, first + count)
    )
    Profile.objects.bulk_create(
        Profile(user=user, timezone=ZONES_AT_SCALE[n % len(ZONES_AT_SCALE)])
        for n, user in enumerate(users, start=first)
    )
    KeyResult.objects.bulk_create(
        KeyResult(objective=objective, owner=user, title=f"Key result {n}", target_value=100)
        for n, user in enumerate(users, start=first)
    )
    return [user.pk for user in users]


def counted_run(batch_size: int) -> tuple[prompts.PromptRun, int, float]:
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        run = prompts.checkins_send_prompts(batch_size=batch_size)
        seconds = time.perf_counter() - start
    return run, len(ctx.captured_queries), seconds


@pytest.mark.django_db
def test_prompt_job_costs_a_fixed_number_of_queries_per_batch(
    travel: Any,
    objective: Any,
    settings: Any,
    queued_emails: mock.MagicMock,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """2,500 owners, then 5,000, over five zones, in batches of 500.

    Every zone holds a multiple of 500 owners so that every batch is full: SQLite splits a
    bulk insert by its 999-variable limit, so a short last batch would cost fewer queries.
    The fixed part (``a``) is what a run costs when every owner is already prompted."""
    batch_size = 500
    # Monday 09:00 in New York; every other zone's Monday 09:00 came less than 24 hours ago.
    travel.move_to("2026-11-16 14:00:00+00:00")
    first_half = bulk_owners(objective, 0, 2500)
    with django_capture_on_commit_callbacks(execute=True):
        small, small_queries, _ = counted_run(batch_size)
        rerun, a, _ = counted_run(batch_size)
    assert (small.prompts, small.batches, sorted(small.zones_due)) == (
        2500,
        5,
        sorted(ZONES_AT_SCALE),
    )
    assert (rerun.prompts, rerun.batches, sorted(rerun.zones_due)) == (0, 0, sorted(ZONES_AT_SCALE))
    b, remainder = divmod(small_queries - a, small.batches)
    assert remainder == 0, f"{small_queries} queries for {small.batches} batches, {a} fixed"

    # The organisation doubles; a week later the job prompts 5,000 owners.
    owner_ids = first_half + bulk_owners(objective, 2500, 2500)
    travel.move_to("2026-11-23 14:00:00+00:00")
    queued_emails.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        large, queries, seconds = counted_run(batch_size)
    print(
        f"FIGURE prompts ({connection.vendor}): 5000 owners, {large.batches} batches, "
        f"{queries} queries = {a} + {b} per batch, {seconds:.2f} s"
    )

    assert (large.prompts, large.batches) == (5000, 10)
    assert queries == a + b * large.batches
    week8 = CheckInPrompt.objects.filter(week=8)
    assert sorted(week8.values_list("owner_id", flat=True)) == sorted(owner_ids)
    notes = Notification.objects.filter(kind="checkin_prompt", subject__startswith="Week 8 ")
    assert sorted(notes.values_list("recipient_id", flat=True)) == sorted(owner_ids)
    # E-mails are queued in batches, each a task that sends over one connection.
    size = settings.NOTIFICATION_EMAIL_BATCH_SIZE
    assert queued_emails.call_count == math.ceil(5000 / size)
    assert all(len(call.args[0]) <= size for call in queued_emails.call_args_list)
    queued = sorted(pk for call in queued_emails.call_args_list for pk in call.args[0])
    assert queued == sorted(notes.values_list("pk", flat=True))
