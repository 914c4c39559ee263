"""``okrly.sql``: rows as the ORM would give their values, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast
from uuid import uuid4

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkins.models import CheckIn
from okrly import sql
from okrly.models import Notification, display_name

pytestmark = pytest.mark.django_db


def test_rows_are_named_by_the_selects_aliases_with_the_orms_values(key_result: Any) -> None:
    submitted = timezone.now() - timedelta(hours=5)
    check_in = CheckIn.objects.create(
        key_result=key_result,
        week=3,
        status=CheckIn.Status.ON_TRACK,
        value=10,
        confidence=7,
        author=key_result.owner,
        biggest_risk="none",
        submitted_at=submitted,
    )
    found = sql.rows(
        f"SELECT c.id, c.week, c.submitted_at AS at, c.value FROM {sql.table(CheckIn)} c "
        "WHERE c.key_result_id = %s",
        [key_result.pk],
    )
    assert [(r.id, r.week) for r in found] == [(check_in.pk, 3)]
    orm = CheckIn.objects.values_list("submitted_at", flat=True).get(pk=check_in.pk)
    # A timestamp comes back with its zone (SQLite keeps none; the ORM adds UTC), equal to
    # the ORM's, so it compares with aware times and prints in the viewer's zone.
    assert found[0].at == orm == submitted
    assert found[0].at.utcoffset() == timedelta(0)


def test_no_row_is_an_empty_list(db: Any) -> None:
    assert sql.rows(f"SELECT id FROM {sql.table(CheckIn)} WHERE id = %s", [-1]) == []


@pytest.mark.parametrize(
    ("first", "last", "expected_full"),
    [("Ana", "Silva", "Ana Silva"), ("Ana", "", "Ana"), ("", "Silva", "Silva"), ("", "", "")],
)
def test_names_are_the_user_models(first: str, last: str, expected_full: str) -> None:
    user = get_user_model()(username="asilva", first_name=first, last_name=last)
    assert sql.full_name(first, last) == user.get_full_name() == expected_full
    assert sql.person(first, last, "asilva") == display_name(user)


def test_constants_are_written_as_literals_the_database_compares(key_result: Any) -> None:
    assert sql.constants(["committed", "at_risk"]) == "'committed', 'at_risk'"
    CheckIn.objects.create(
        key_result=key_result,
        week=1,
        author=key_result.owner,
        status=CheckIn.Status.AT_RISK,
        value=1,
        confidence=5,
        biggest_risk="r",
        submitted_at=timezone.now(),
    )
    statuses = sql.constants(s.value for s in [CheckIn.Status.AT_RISK, CheckIn.Status.OFF_TRACK])
    found = sql.rows(
        f"SELECT COUNT(*) AS n FROM {sql.table(CheckIn)} WHERE status IN ({statuses})", []
    )
    assert found[0].n == 1


@pytest.mark.parametrize("value", ["it's", "a b", "x;--", "", "Committed", "1st"])
def test_anything_but_a_plain_word_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Not a constant"):
        sql.constants(["committed", value])


def test_paged_reads_a_slice_as_a_limit_and_offset() -> None:
    class Numbers(sql.Paged):
        reads: list[tuple[int | None, int]] = []

        def count(self) -> int:
            return 10

        def _rows(self, limit: int | None, offset: int) -> list[Any]:
            self.reads.append((limit, offset))
            stop = 10 if limit is None else min(10, offset + limit)
            return list(range(offset, stop))

    numbers = Numbers()
    assert numbers[2:5] == [2, 3, 4]
    assert numbers[8:] == [8, 9]
    assert list(numbers) == list(range(10))
    assert numbers.reads == [(3, 2), (None, 8), (None, 0)]
    with pytest.raises(TypeError, match="a page"):
        numbers[3]  # type: ignore[index]
    from django.core.paginator import Paginator

    page: Any = Paginator(cast(Any, numbers), 4).get_page(3)
    assert (list(page.object_list), page.paginator.num_pages) == ([8, 9], 3)


def test_in_lists_of_placeholders_match_nothing_when_empty(key_result: Any) -> None:
    table = sql.table(CheckIn)
    assert sql.placeholders([1, 2]) == "%s, %s"
    params: dict[str, Any] = {}
    assert sql.named(params, "team", [7, 8]) == "%(team0)s, %(team1)s"
    assert params == {"team0": 7, "team1": 8}
    cases: list[tuple[str, Any]] = [(sql.placeholders([]), []), (sql.named({}, "x", []), {})]
    for clause, values in cases:
        assert clause == "NULL"
        found = sql.rows(f"SELECT COUNT(*) AS n FROM {table} WHERE id IN ({clause})", values)
        assert found[0].n == 0


def test_a_person_read_by_its_columns_is_the_users_name(owner: Any, teammate: Any) -> None:
    """``Person.columns`` names a joined user's four columns; ``Person.of`` reads them back,
    two people of one row apart by their prefixes."""
    User = get_user_model()
    row = sql.rows(
        f"SELECT {sql.Person.columns('a', 'a_')}, {sql.Person.columns('b', 'b_')} "
        f"FROM {sql.table(User)} a, {sql.table(User)} b WHERE a.id = %s AND b.id = %s",
        [owner.pk, teammate.pk],
    )[0]
    a, b = sql.Person.of(row, "a_"), sql.Person.of(row, "b_")
    assert (a.pk, display_name(a), a.get_username()) == (owner.pk, "Olga Owner", "olga")
    assert (b.pk, display_name(b)) == (teammate.pk, "Tim Teammate")


def test_an_insert_in_sql_writes_what_the_orm_would(owner: Any) -> None:
    """``insert_columns``: given values, SQL for others, every other field its default; the
    row read back through the ORM equals one the ORM writes (timestamps and UUIDs included,
    which SQLite stores as text the ORM's way)."""
    at, token = timezone.now(), uuid4()
    values = {"kind": "k", "subject": "s", "created_at": at, "email_claim": token}
    columns, selected, params = sql.insert_columns(Notification, values, {"recipient": "u.id"})
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {sql.table(Notification)} ({columns}) SELECT {selected} "
            f"FROM {sql.table(get_user_model())} u WHERE u.id = %s",
            [*params, owner.pk],
        )
    written = Notification.objects.get()
    orm = Notification(recipient=owner, **values)
    fields = [f.name for f in Notification._meta.concrete_fields if not f.primary_key]
    assert {f: getattr(written, f) for f in fields} == {f: getattr(orm, f) for f in fields}
    assert Notification.objects.filter(email_claim=token, created_at=at).exists()


def test_an_insert_without_a_required_value_is_refused() -> None:
    with pytest.raises(ValueError, match="created_at has no default"):
        sql.insert_columns(Notification, {"kind": "k", "subject": "s"}, {"recipient": "u.id"})


def test_reads_run_together_give_what_each_gives_alone(key_result: Any, owner: Any) -> None:
    """``sql.run``: on PostgreSQL the statements go out in one pipeline; each read's value is
    what it gives run alone, each statement counts as a query, and an error in one raises
    Django's error and leaves the connection usable."""

    def reads() -> list[sql.Read[Any]]:
        return [
            sql.Read(f"SELECT id FROM {sql.table(get_user_model())} ORDER BY id", [], list),
            sql.Read("SELECT %s AS n", [7], lambda rows: rows[0].n),
            sql.Read(
                f"SELECT u.username FROM {sql.table(get_user_model())} u WHERE u.id = %(me)s",
                {"me": owner.pk},
                lambda rows: rows[0].username,
            ),
        ]

    alone = [read.get() for read in reads()]
    together = reads()
    with CaptureQueriesContext(connection) as queries:
        sql.run(*together)
    assert [read.value for read in together] == alone
    assert alone[1:] == [7, "olga"]
    assert len(queries) == 3
    with pytest.raises(RuntimeError):
        _ = sql.Read("SELECT 1 AS n", [], list).value


def test_an_error_in_one_read_of_several_raises_djangos_error(db: Any) -> None:
    broken = [sql.Read("SELECT 1 AS n", [], list), sql.Read("SELECT * FROM nowhere", [], list)]
    with pytest.raises(DatabaseError), transaction.atomic():
        sql.run(*broken)
    assert sql.Read("SELECT 2 AS n", [], lambda rows: rows[0].n).get() == 2
