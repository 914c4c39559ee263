"""People import from CSV (issue 16): parse, plan (the dry run), apply (all or nothing).

Columns: name, e-mail, team, role, manager's e-mail, time zone (header names in any case,
``email``/``e-mail``, ``manager_email``/``manager's e-mail``, ``timezone``/``time zone``).
A person is found by e-mail, so importing the same file twice changes nothing the second
time. An empty role means member; an empty time zone or manager leaves an existing person's
as it is (UTC and no manager for a new one). The import adds memberships and never removes
one: a person's other teams are not the file's business.

``people_import_plan`` reads the database and writes nothing: it is the dry run the page
shows. ``people_import_apply`` plans again (the page's plan may be stale) and writes only
when no row has an error, in one transaction with a handful of bulk statements, so 2,000
rows take about a second on SQLite instead of thousands of single-row saves.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower

from okrly.errors import RuleBroken
from okrly.models import Membership, Profile, Team, sync_team_leads, validate_timezone

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
NAME_MAX = Profile._meta.get_field("display_name").max_length or 120
EMAIL_MAX = get_user_model()._meta.get_field("email").max_length or 254
USERNAME_MAX = 150

# Each column's accepted header names, already normalised by ``_header_key``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name"),
    "email": ("email", "e-mail", "e mail"),
    "team": ("team",),
    "role": ("role",),
    "manager_email": (
        "manager_email",
        "manager email",
        "manager e-mail",
        "manager's email",
        "manager's e-mail",
        "manager",
    ),
    "timezone": ("timezone", "time zone", "time_zone"),
}
REQUIRED = ("name", "email", "team")
LABELS = {
    "name": "name",
    "email": "e-mail",
    "team": "team",
    "role": "role",
    "manager_email": "manager's e-mail",
    "timezone": "time zone",
}


class Outcome:
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class RowPlan:
    """One data row of the file: what it says, and what importing it would do."""

    line: int
    name: str = ""
    email: str = ""
    team: str = ""
    role: str = ""
    manager_email: str = ""
    timezone: str = ""
    errors: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    outcome: str = Outcome.ERROR
    user_id: int | None = None
    team_id: int | None = None


@dataclass
class ImportPlan:
    rows: list[RowPlan] = field(default_factory=list)
    # Errors about the whole file (its size, encoding, header): no row is planned then.
    errors: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.outcome for row in self.rows)
        return {o: found[o] for o in (Outcome.CREATE, Outcome.UPDATE, Outcome.UNCHANGED)} | {
            Outcome.ERROR: found[Outcome.ERROR]
        }

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows) and not self.counts[Outcome.ERROR]


def _header_key(text: str) -> str:
    return " ".join(text.strip().lower().replace("’", "'").split())


# --- 1. parse ---------------------------------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """An uploaded file's text; RuleBroken with what to do when it is too big or not UTF-8."""
    if len(data) > MAX_BYTES:
        raise RuleBroken(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleBroken(
            f"The file is not UTF-8 text (byte {exc.start + 1} is not): save it as "
            "“CSV UTF-8” and try again."
        ) from None


def parse(text: str) -> ImportPlan:
    """The file's rows, each with its line number, or the file's own errors."""
    plan = ImportPlan()
    text = text.removeprefix("\ufeff")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        plan.errors.append(f"The CSV is larger than {MAX_BYTES // (1024 * 1024)} MB.")
        return plan
    if "\x00" in text:
        plan.errors.append("The CSV contains a NUL character; it is not a text file.")
        return plan
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next((r for r in reader if any(c.strip() for c in r)), None)
        if header is None:
            plan.errors.append("The CSV is empty: paste a header line and one row per person.")
            return plan
        aliases = {alias: column for column, names in COLUMNS.items() for alias in names}
        positions: dict[str, int] = {}
        for index, title in enumerate(header):
            column = aliases.get(_header_key(title))
            if column is not None and column not in positions:
                positions[column] = index
        missing = [LABELS[c] for c in REQUIRED if c not in positions]
        if missing:
            plan.errors.append(
                "The header line lacks the column(s) "
                + ", ".join(missing)
                + ". Expected: name, e-mail, team, role, manager's e-mail, time zone."
            )
            return plan
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(plan.rows) >= MAX_ROWS:
                plan.errors.append(f"The CSV has more than {MAX_ROWS:,} people; split it.")
                plan.rows = []
                return plan
            row = RowPlan(line=reader.line_num)
            if len(record) > len(header):
                row.errors.append(f"This line has {len(record)} fields, the header {len(header)}.")
            for column, index in positions.items():
                value = record[index].strip() if index < len(record) else ""
                setattr(row, column, value)
            plan.rows.append(row)
    except csv.Error as exc:
        plan.errors.append(f"Line {reader.line_num} is not valid CSV: {exc}.")
        plan.rows = []
    if not plan.rows and not plan.errors:
        plan.errors.append("The CSV has a header but no people.")
    return plan


# --- 2. plan ----------------------------------------------------------------------------------


@dataclass
class _Existing:
    """What the database already holds that the file's rows refer to (a few queries)."""

    users: dict[str, list[int]]  # lower e-mail -> user ids
    names: dict[int, tuple[str, str, str]]  # user id -> (first, last, display name)
    profiles: dict[int, tuple[str, int | None]]  # user id -> (time zone, manager id)
    teams: dict[str, Team]  # lower name and slug -> team
    memberships: dict[tuple[int, int], str]  # (user, team) -> role


def _load(emails: set[str]) -> _Existing:
    User = get_user_model()
    users: dict[str, list[int]] = {}
    names: dict[int, tuple[str, str, str]] = {}
    found = (
        User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=emails)
        .values_list("pk", "email_lower", "first_name", "last_name", "profile__display_name")
    )
    for pk, email, first, last, shown in found:
        users.setdefault(email, []).append(pk)
        names[pk] = (first, last, shown or "")
    # Every manager link, for cycles that run through people who are not in the file.
    profiles: dict[int, tuple[str, int | None]] = {
        user_id: (zone, manager_id)
        for user_id, zone, manager_id in Profile.objects.values_list(
            "user_id", "timezone", "manager_id"
        )
    }
    teams: dict[str, Team] = {}
    for team in Team.objects.only("pk", "name", "slug"):
        teams[team.slug.lower()] = team
        teams[team.name.lower()] = team
    memberships = {
        (user_id, team_id): role
        for user_id, team_id, role in Membership.objects.filter(user_id__in=names).values_list(
            "user_id", "team_id", "role"
        )
    }
    return _Existing(users, names, profiles, teams, memberships)


def split_name(name: str) -> tuple[str, str]:
    first, _, last = name.partition(" ")
    return first, last.strip()


ROLES = {value: value for value in Membership.Role.values} | {
    str(label).lower(): value for value, label in Membership.Role.choices
}


def _check_fields(row: RowPlan) -> None:
    if not row.name:
        row.errors.append("The name is empty.")
    elif len(row.name) > NAME_MAX:
        row.errors.append(f"The name is {len(row.name)} characters; at most {NAME_MAX}.")
    row.email = row.email.lower()
    row.manager_email = row.manager_email.lower()
    for label, value in (("e-mail", row.email), ("manager's e-mail", row.manager_email)):
        if not value and label == "e-mail":
            row.errors.append("The e-mail is empty.")
        elif value:
            try:
                validate_email(value)
                if len(value) > EMAIL_MAX:
                    raise ValidationError("too long")
            except ValidationError:
                row.errors.append(f"The {label} “{value[:80]}” is not a valid address.")
    if row.email and row.email == row.manager_email:
        row.errors.append("A person can't be their own manager.")
    role = ROLES.get(row.role.lower() or Membership.Role.MEMBER)
    if role is None:
        allowed = ", ".join(Membership.Role.values)
        row.errors.append(f"The role “{row.role[:40]}” is not one of {allowed}.")
    else:
        row.role = role
    if row.timezone:
        try:
            validate_timezone(row.timezone)
        except ValidationError:
            row.errors.append(
                f"The time zone “{row.timezone[:64]}” is not an IANA zone (e.g. Europe/Paris)."
            )


Node = tuple[str, object]  # ("u", user id) for an existing person, ("n", e-mail) for a new one


def _cycles(rows: list[RowPlan], existing: _Existing) -> None:
    """Mark the rows whose manager chain (the file's links over the database's) comes back
    to them. Each row walks up its chain; org charts are shallow, so this stays cheap."""

    def node(email: str) -> Node | None:
        ids = existing.users.get(email)
        if ids and len(ids) == 1:
            return ("u", ids[0])
        return ("n", email) if email in in_file else None

    in_file = {row.email for row in rows if row.email}
    up: dict[Node, Node | None] = {
        ("u", user_id): (("u", manager) if manager else None)
        for user_id, (_, manager) in existing.profiles.items()
    }
    for row in rows:
        me = node(row.email) if row.email else None
        if me is not None and row.manager_email:
            up[me] = node(row.manager_email)
    label = {node(row.email): row.email for row in rows if row.email}
    for row in rows:
        start = node(row.email) if row.email else None
        if start is None:
            continue
        path, seen, current = [start], {start}, up.get(start)
        while current is not None and current not in seen:
            path.append(current)
            seen.add(current)
            current = up.get(current)
        if current == start:
            chain = " → ".join(str(label.get(n, f"user #{n[1]}")) for n in [*path, start])
            row.errors.append(f"Manager cycle: {chain}.")


def _plan_row(row: RowPlan, existing: _Existing) -> None:
    ids = existing.users.get(row.email, [])
    if len(ids) > 1:
        row.errors.append("Several accounts already use this e-mail; fix them in the admin.")
        return
    if not ids:
        row.outcome = Outcome.CREATE
        return
    user_id = row.user_id = ids[0]
    first, last, shown = existing.names[user_id]
    zone, manager_id = existing.profiles.get(user_id, ("UTC", None))
    if (first, last) != split_name(row.name) or shown != row.name:
        row.changes.append(f"name “{shown or f'{first} {last}'.strip()}” → “{row.name}”")
    if row.timezone and row.timezone != zone:
        row.changes.append(f"time zone {zone} → {row.timezone}")
    if row.manager_email:
        manager_ids = existing.users.get(row.manager_email, [])
        if manager_ids != [manager_id]:
            row.changes.append(f"manager → {row.manager_email}")
    role = existing.memberships.get((user_id, row.team_id or 0))
    if role is None:
        row.changes.append(f"joins {row.team} as {row.role}")
    elif role != row.role:
        row.changes.append(f"role in {row.team} {role} → {row.role}")
    row.outcome = Outcome.UPDATE if row.changes else Outcome.UNCHANGED


def people_import_plan(text: str) -> ImportPlan:
    """The dry run: every row's outcome (create, update with what changes, unchanged) or its
    errors. Reads the database, writes nothing.

    1. Parse (file errors stop here).
    2. Check each row's fields: name, e-mail syntax, role, time zone.
    3. Resolve teams (by name or slug) and managers (in the file or existing people).
    4. Find e-mails the file repeats and manager cycles across the file and the database.
    5. Compare each remaining row with the database.
    """
    plan = parse(text)
    if plan.errors:
        return plan
    for row in plan.rows:
        _check_fields(row)
    emails = {r.email for r in plan.rows if r.email} | {
        r.manager_email for r in plan.rows if r.manager_email
    }
    existing = _load(emails)
    in_file = {r.email for r in plan.rows}
    first_line: dict[str, int] = {}
    for row in plan.rows:
        team = existing.teams.get(row.team.lower()) if row.team else None
        if not row.team:
            row.errors.append("The team is empty.")
        elif team is None:
            row.errors.append(f"Unknown team “{row.team[:120]}”: create it first, or fix the name.")
        else:
            row.team, row.team_id = team.name, team.pk
        known = row.manager_email in in_file or existing.users.get(row.manager_email)
        if row.manager_email and not known:
            row.errors.append(
                f"The manager {row.manager_email} is neither in the file nor a person here."
            )
        if row.email:
            if row.email in first_line:
                row.errors.append(
                    f"The e-mail {row.email} is already on line {first_line[row.email]}."
                )
            else:
                first_line[row.email] = row.line
    _cycles(plan.rows, existing)
    for row in plan.rows:
        if not row.errors:
            _plan_row(row, existing)
        if row.errors:
            row.outcome = Outcome.ERROR
            row.changes = []
    return plan


# --- 3. apply ---------------------------------------------------------------------------------

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


def _usernames(emails: Iterable[str]) -> dict[str, str]:
    """A unique username for each new person: their e-mail's local part, else the whole
    address, else the local part numbered."""
    User = get_user_model()
    taken = {u.lower() for u in User.objects.values_list("username", flat=True)}
    chosen: dict[str, str] = {}
    for email in emails:
        local = _USERNAME_UNSAFE.sub("", email.partition("@")[0])[:USERNAME_MAX] or "person"
        candidates = [local, _USERNAME_UNSAFE.sub("", email)[:USERNAME_MAX]]
        name = next((c for c in candidates if c.lower() not in taken), None)
        number = 2
        while name is None or name.lower() in taken:
            name = f"{local[: USERNAME_MAX - 8]}-{number}"
            number += 1
        taken.add(name.lower())
        chosen[email] = name
    return chosen


def people_import_apply(text: str) -> ImportPlan:
    """Import the file: plan it again (what the admin checked may be stale), refuse it when
    any row has an error, else write every row in one transaction.

    1. New people: users (unusable password: they set one from their invitation), then
       their profiles with display name, zone and manager (bulk_create skips the signal
       that creates a profile for a saved user).
    2. Existing people: names, zones and managers that changed (bulk_update).
    3. Memberships: new ones created, changed roles updated.
    """
    User = get_user_model()
    with transaction.atomic():
        plan = people_import_plan(text)
        if not plan.ok:
            raise RuleBroken(
                "Nothing was imported: the file has errors. Check it again and fix them."
            )
        rows = [r for r in plan.rows if r.outcome in (Outcome.CREATE, Outcome.UPDATE)]
        new = [r for r in rows if r.outcome == Outcome.CREATE]
        usernames = _usernames(r.email for r in new)
        User.objects.bulk_create(
            [
                User(
                    username=usernames[r.email],
                    email=r.email,
                    first_name=split_name(r.name)[0],
                    last_name=split_name(r.name)[1],
                    password=make_password(None),
                )
                for r in new
            ],
            batch_size=500,
        )
        # Read the new ids back rather than rely on bulk_create returning them (it does on
        # PostgreSQL and recent SQLite, but not on every backend Django supports).
        ids = dict(
            User.objects.filter(username__in=usernames.values()).values_list("username", "pk")
        )
        for r in new:
            r.user_id = ids[usernames[r.email]]
        by_email = {r.email: r.user_id for r in plan.rows}
        managers = (
            dict(
                User.objects.annotate(email_lower=Lower("email"))
                .filter(email_lower__in={r.manager_email for r in rows if r.manager_email})
                .values_list("email_lower", "pk")
            )
            | by_email
        )
        profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=by_email.values())}
        create_profiles: list[Profile] = []
        update_profiles: list[Profile] = []
        update_users = []
        for r in rows:
            assert r.user_id is not None
            profile = profiles.get(r.user_id)
            if profile is None:
                profile = Profile(user_id=r.user_id, timezone=r.timezone or "UTC")
                create_profiles.append(profile)
            else:
                update_profiles.append(profile)
            profile.display_name = r.name
            if r.timezone:
                profile.timezone = r.timezone
            if r.manager_email:
                profile.manager_id = managers[r.manager_email]
            if r.outcome == Outcome.UPDATE:
                first, last = split_name(r.name)
                update_users.append(User(pk=r.user_id, first_name=first, last_name=last))
        Profile.objects.bulk_create(create_profiles, batch_size=500)
        Profile.objects.bulk_update(
            update_profiles, ["display_name", "timezone", "manager"], batch_size=500
        )
        User.objects.bulk_update(update_users, ["first_name", "last_name"], batch_size=500)
        current = {
            (m.user_id, m.team_id): m
            for m in Membership.objects.filter(user_id__in=[r.user_id for r in rows])
        }
        create_memberships: list[Membership] = []
        update_memberships: list[Membership] = []
        for r in rows:
            assert r.user_id is not None
            assert r.team_id is not None
            membership = current.get((r.user_id, r.team_id))
            if membership is None:
                create_memberships.append(
                    Membership(user_id=r.user_id, team_id=r.team_id, role=r.role)
                )
            elif membership.role != r.role:
                membership.role = r.role
                update_memberships.append(membership)
        Membership.objects.bulk_create(create_memberships, batch_size=500)
        Membership.objects.bulk_update(update_memberships, ["role"], batch_size=500)
        # Bulk writes send no signals: the teams' derived lead follows the new roles here.
        sync_team_leads({r.team_id for r in rows if r.team_id is not None})
    return plan
