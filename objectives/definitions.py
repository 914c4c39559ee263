"""Shared definitions (rule 9): who must read an objective's definition, its versions, and
the acknowledgements that show each leader read it the same way.

The *definition group* is computed, never typed: the leadership group; the leads of the
objective's team; the leads of every team owning a key result under it or asked for something
by one (other apps add teams through ``okrly.registry.register_definition_teams``); and the
leads of every team whose objectives align to it, at any depth, so a divergent reading two
levels down is visible at the top.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model

from objectives.models import (
    DEFINITION_FIELDS,
    DefinitionAcknowledgement,
    DefinitionVersion,
    KeyResult,
    Objective,
)
from okrly import registry, sql
from okrly.access import LEAD, leadership_group_name
from okrly.models import Membership, Quarter, Team

if TYPE_CHECKING:
    from okrly.types import User


def _in(values: Iterable[int]) -> tuple[str, list[int]]:
    ids = sorted(values)
    return sql.placeholders(ids), ids


def _aligned_team_ids(objective_ids: Iterable[int]) -> dict[int, set[int]]:
    """For each objective, the teams of every objective aligned to it at any depth.

    One recursive query that walks down from these objectives only, so one objective costs
    its own subtree, not its quarter. ``UNION`` keeps each (root, objective) once, which also
    ends a loop written past the service (objectives.services._check_parent)."""
    placeholders, ids = _in(objective_ids)
    found: dict[int, set[int]] = {pk: set() for pk in ids}
    if not ids:
        return found
    table = connection.ops.quote_name(Objective._meta.db_table)
    sql = f"""
        WITH RECURSIVE below(root, node, team) AS (
            SELECT o.parent_id, o.id, o.team_id FROM {table} o
            WHERE o.parent_id IN ({placeholders})
            UNION
            SELECT below.root, o.id, o.team_id FROM {table} o
            JOIN below ON o.parent_id = below.node
        )
        SELECT DISTINCT root, team FROM below WHERE node <> root
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        for root, team_id in cursor.fetchall():
            found[root].add(team_id)
    return found


def _ancestor_ids(objective_ids: Iterable[int | None]) -> set[int]:
    """These objectives and every objective above them in the alignment tree (one query)."""
    placeholders, ids = _in({pk for pk in objective_ids if pk is not None})
    if not ids:
        return set()
    table = connection.ops.quote_name(Objective._meta.db_table)
    sql = f"""
        WITH RECURSIVE up(node) AS (
            SELECT o.id FROM {table} o WHERE o.id IN ({placeholders})
            UNION
            SELECT o.parent_id FROM {table} o
            JOIN up ON o.id = up.node WHERE o.parent_id IS NOT NULL
        )
        SELECT node FROM up
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return {row[0] for row in cursor.fetchall()}


@dataclass(frozen=True)
class _Reach:
    """Who each objective's definition group wants, as ids, before anyone is loaded."""

    team_ids: dict[int, set[int]]  # objective -> its team, teams depended on, aligned below
    contributed: dict[int, set[int]]  # objective -> teams depended on
    leads: dict[int, set[int]]  # team -> its leads (Team.lead and lead memberships)
    names: dict[int, str]  # team -> name
    leadership: set[int]
    wanted: dict[int, set[int]]  # objective -> user ids, active or not


def _reach(objectives: Sequence[Objective]) -> _Reach:
    """Five queries, whatever the number of objectives; only ``pk`` and ``team_id`` are read,
    so callers may load the objectives with ``only()``."""
    pks = [o.pk for o in objectives]
    contributed = registry.definition_teams(pks)
    aligned = _aligned_team_ids(pks)
    # Key results belong to the objective's team, so the teams they add are the ones they
    # depend on (registered by the dependencies app) and the aligned objectives' teams.
    team_ids = {
        o.pk: {o.team_id} | contributed.get(o.pk, set()) | aligned[o.pk] for o in objectives
    }
    every_team = set().union(*team_ids.values()) if team_ids else set()
    leads: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    # order_by(): the models' orderings would join teams and users for nothing.
    for team_id, lead_id, name in (
        Team.objects.filter(pk__in=every_team).order_by().values_list("pk", "lead_id", "name")
    ):
        names[team_id] = name
        if lead_id is not None:
            leads.setdefault(team_id, set()).add(lead_id)
    for team_id, user_id in (
        Membership.objects.filter(team_id__in=every_team, role=LEAD)
        .order_by()
        .values_list("team_id", "user_id")
    ):
        leads.setdefault(team_id, set()).add(user_id)
    leadership = set(
        get_user_model()
        .objects.filter(groups__name=leadership_group_name())
        .order_by()
        .values_list("pk", flat=True)
    )
    no_one: set[int] = set()
    wanted = {
        o.pk: leadership.union(*(leads.get(t, no_one) for t in team_ids[o.pk])) for o in objectives
    }
    return _Reach(team_ids, contributed, leads, names, leadership, wanted)


def _groups(objectives: list[Objective]) -> dict[int, tuple[list[User], dict[int, str]]]:
    """Each objective's definition group, everyone once and by name, with why each person is
    in it ("Leadership", "Lead, Growth", "Lead, Platform (depended on)"): six queries in all.
    Each group is built from its own wanted ids and the name order, never by scanning
    everyone once per objective."""
    reach = _reach(objectives)
    people = list(
        get_user_model()
        .objects.filter(pk__in=set().union(*reach.wanted.values()), is_active=True)
        .order_by("first_name", "last_name", "username")
    )
    by_pk = {p.pk: p for p in people}
    position = {p.pk: i for i, p in enumerate(people)}
    found: dict[int, tuple[list[User], dict[int, str]]] = {}
    for o in objectives:
        contributed = reach.contributed.get(o.pk, set())
        members = sorted(reach.wanted[o.pk] & by_pk.keys(), key=position.__getitem__)
        group = [by_pk[pk] for pk in members]
        roles: dict[int, list[str]] = {pk: [] for pk in members}
        for pk in reach.leadership & roles.keys():
            roles[pk].append("Leadership")
        for team_id in sorted(
            reach.team_ids[o.pk], key=lambda t: (t != o.team_id, reach.names.get(t, ""))
        ):
            why = (
                ""
                if team_id == o.team_id
                else " (depended on)"
                if team_id in contributed
                else " (aligned below)"
            )
            for pk in reach.leads.get(team_id, set()) & roles.keys():
                roles[pk].append(f"Lead, {reach.names.get(team_id, '')}{why}")
        found[o.pk] = (group, {pk: " · ".join(r) for pk, r in roles.items()})
    return found


def definition_group(objective: Objective) -> list[User]:
    """Everyone who must acknowledge the objective's definition, each once, by name."""
    return _groups([objective])[objective.pk][0]


def current_version(objective: Objective) -> DefinitionVersion | None:
    return objective.definition_versions.order_by("-number").first()


def _snapshot(objective: Objective, *, number: int, author: User | None) -> DefinitionVersion:
    """A new version, with its acknowledgement ladder started; an older version's ladder
    stops (nobody is chased to read what no longer stands)."""
    # The ladder's declaration reads the group from this module, hence imported here.
    from objectives.reminders import ACK_LADDER

    version = DefinitionVersion.objects.create(
        objective=objective,
        number=number,
        author=author,
        **{name: getattr(objective, name) for name in DEFINITION_FIELDS},
    )
    # Counted from created_at, which exists once the row is written.
    version.next_escalation_at = ACK_LADDER.next_rung_at(version)
    version.save(update_fields=["next_escalation_at"])
    DefinitionVersion.objects.filter(objective=objective, next_escalation_at__isnull=False).exclude(
        pk=version.pk
    ).update(next_escalation_at=None)
    return version


def publish_definition(*, objective: Objective, author: User | None) -> DefinitionVersion:
    """Record the objective's definition as it now stands (the services call this on create
    and after an edit). Until someone has acknowledged the current version it is still a
    draft and is rewritten in place; after the first acknowledgement an edit makes a new
    version, keeping the old one and its (now out-of-date) acknowledgements."""
    version = current_version(objective)
    if version is None:
        return _snapshot(objective, number=1, author=author)
    if all(getattr(version, f) == getattr(objective, f) for f in DEFINITION_FIELDS):
        return version
    if not version.acknowledgements.exists():
        # Still a draft: rewritten in place, its ladder keeps counting from its created_at.
        for name in DEFINITION_FIELDS:
            setattr(version, name, getattr(objective, name))
        version.author = author
        version.save()
        return version
    return _snapshot(objective, number=version.number + 1, author=author)


@dataclass(frozen=True)
class DefinitionStatus:
    """Where an objective's definition stands: shared once every group member acknowledged
    the current version (an objective with no version yet is not shared)."""

    version: DefinitionVersion | None
    group: list[User]
    acknowledgements: list[DefinitionAcknowledgement]  # of the current version
    missing: list[User]
    roles: dict[int, str]  # why each member is in the group, by user id

    def role_of(self, person_id: int) -> str:
        return self.roles.get(person_id, "")

    @property
    def shared(self) -> bool:
        return self.version is not None and not self.missing


def definition_statuses(objectives: list[Objective]) -> dict[int, DefinitionStatus]:
    """Each objective's definition status by id, in a fixed number of queries (eight: the
    group's six, the versions, the readings)."""
    if not objectives:
        return {}
    groups = _groups(objectives)
    current: dict[int, DefinitionVersion] = {}
    for row in DefinitionVersion.objects.filter(objective__in=objectives).order_by("number"):
        current[row.objective_id] = row  # the highest number wins
    versions = {version.pk: version for version in current.values()}
    acks: dict[int, list[DefinitionAcknowledgement]] = {}
    # The version is already loaded: attached, not joined, as a reading is built three times
    # faster without a second model per row (a whole quarter holds tens of thousands).
    version_field = DefinitionAcknowledgement._meta.get_field("version")
    # Each version's readings in the model's order; ordering by the version too would join
    # the versions, objectives, quarters and teams to sort rows already grouped here.
    for ack in (
        DefinitionAcknowledgement.objects.filter(version_id__in=list(versions))
        .select_related("person")
        .order_by("created_at", "pk")
    ):
        version_field.set_cached_value(ack, versions[ack.version_id])
        acks.setdefault(ack.version_id, []).append(ack)
    statuses = {}
    for objective in objectives:
        version = current.get(objective.pk)
        readings = acks.get(version.pk, []) if version is not None else []
        acknowledged = {ack.person_id for ack in readings}
        group, roles = groups[objective.pk]
        missing = [person for person in group if person.pk not in acknowledged]
        statuses[objective.pk] = DefinitionStatus(version, group, readings, missing, roles)
    return statuses


def definition_status(objective: Objective) -> DefinitionStatus:
    return definition_statuses([objective])[objective.pk]


# --- the materialised flag: Objective.definition_shared --------------------------------------
#
# The dashboard counts, per team, the objectives whose definition is not shared; computing
# every status on each request costs the whole organisation's groups. The flag is that
# answer kept on the row, written in the transaction of whatever changed it by the signals
# below, so the dashboard reads it with one grouped query (``not_shared_by_team``).


def _shared(objectives: Sequence[Objective]) -> dict[int, bool]:
    """``definition_statuses(objectives)[pk].shared`` for each, from ids alone: the five
    queries of ``_reach`` and three more (active members, current versions, readings). Reads
    named columns only, so a migration may call it whatever columns later ones add."""
    reach = _reach(objectives)
    active = set(
        get_user_model()
        .objects.filter(pk__in=set().union(*reach.wanted.values()), is_active=True)
        .order_by()
        .values_list("pk", flat=True)
    )
    current: dict[int, int] = {}
    for objective_id, version_id in (
        DefinitionVersion.objects.filter(objective_id__in=[o.pk for o in objectives])
        .order_by("number")
        .values_list("objective_id", "pk")
    ):
        current[objective_id] = version_id  # the highest number wins
    read: dict[int, set[int]] = {}
    for version_id, person_id in (
        DefinitionAcknowledgement.objects.filter(version_id__in=list(current.values()))
        .order_by()
        .values_list("version_id", "person_id")
    ):
        read.setdefault(version_id, set()).add(person_id)
    no_one: set[int] = set()
    return {
        o.pk: o.pk in current and (reach.wanted[o.pk] & active) <= read.get(current[o.pk], no_one)
        for o in objectives
    }


def refresh_shared(objective_ids: Iterable[int | None] | None = None) -> dict[int, bool]:
    """Recompute the flag of these objectives (None: every objective of a quarter not closed)
    and write it where it changed: at most eleven queries, two of them ``UPDATE`` s (one per
    value). ``update()`` sends no signal, so nothing here calls itself again. Returns each
    objective's flag."""
    rows = Objective.objects.order_by()
    if objective_ids is None:
        rows = rows.exclude(quarter__status=Quarter.Status.CLOSED)
    else:
        ids = {int(pk) for pk in objective_ids if pk is not None}
        if not ids:
            return {}
        rows = rows.filter(pk__in=ids)
    objectives = list(rows.only("pk", "team_id", "definition_shared"))
    if not objectives:
        return {}
    shared = _shared(objectives)
    changed: dict[bool, list[int]] = {True: [], False: []}
    for objective in objectives:
        if objective.definition_shared != shared[objective.pk]:
            changed[shared[objective.pk]].append(objective.pk)
    for value, pks in changed.items():
        if pks:
            Objective.objects.filter(pk__in=pks).update(definition_shared=value)
    return shared


def not_shared_by_team(
    quarter_id: int, team_ids: list[int] | None, *, by_department: bool = False
) -> dict[int, tuple[int, int]]:
    """{team id: (in-play objectives, those whose definition is not shared)} for the quarter's
    teams (``team_ids`` None: all of them), in one grouped query over the flag; keyed by
    department instead with ``by_department``. A displaced objective (rule 8) counts in
    neither figure."""
    params: dict[str, Any] = {"quarter": quarter_id}
    scope = ""
    if team_ids is not None:
        scope = f" AND o.team_id IN ({sql.named(params, 'team', team_ids)})"
    key = "t.department_id" if by_department else "o.team_id"
    # SQL (okrly.sql): the organisation view runs it on every request.
    return {
        row.team_id: (row.total, int(row.not_shared))
        for row in sql.rows(
            f"""
SELECT {key} AS team_id, COUNT(*) AS total,
       SUM(CASE WHEN o.definition_shared THEN 0 ELSE 1 END) AS not_shared
FROM {sql.table(Objective)} o JOIN {sql.table(Team)} t ON t.id = o.team_id
WHERE o.quarter_id = %(quarter)s AND o.displaced_by_id IS NULL{scope}
GROUP BY {key}""",
            params,
        )
    }


# --- keeping the flag right: the signals -------------------------------------------------------
#
# Narrow changes (a version, a reading, an objective, a dependency) refresh the objectives
# they touch. Changes to who leads what (memberships, a team's lead, the leadership group, a
# person leaving) can reach any group, so they refresh every objective of the open quarters:
# a fixed number of queries, and rare admin events. Each handler first checks that the
# change can matter, so that the frequent saves (a sign-in's last_login, a ladder's rung)
# cost nothing.

_WAS = "_definition_shared_was"  # the pre_save value a post_save compares with
# The single-row reads below order by pk: the models' orderings would join quarters, teams
# and users to sort one row.


def _touches(update_fields: Iterable[str] | None, names: set[str]) -> bool:
    return update_fields is None or not names.isdisjoint(update_fields)


def _on_version_saved(
    sender: type[Model], instance: DefinitionVersion, update_fields: Any = None, **kwargs: Any
) -> None:
    # The ladder writes its rung and date only: which version is current is unchanged.
    if _touches(update_fields, {"objective", "number"}):
        refresh_shared([instance.objective_id])


def _on_version_deleted(sender: type[Model], instance: DefinitionVersion, **kwargs: Any) -> None:
    refresh_shared([instance.objective_id])


def _acknowledged_objective(instance: DefinitionAcknowledgement) -> int | None:
    if DefinitionAcknowledgement.version.is_cached(instance):
        return instance.version.objective_id
    return (
        DefinitionVersion.objects.filter(pk=instance.version_id)
        .values_list("objective_id", flat=True)
        .order_by("pk")
        .first()
    )


def _on_acknowledgement_saved(
    sender: type[Model],
    instance: DefinitionAcknowledgement,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    if _touches(update_fields, {"version", "person"}):
        refresh_shared([_acknowledged_objective(instance)])


def _on_acknowledgement_deleted(
    sender: type[Model], instance: DefinitionAcknowledgement, **kwargs: Any
) -> None:
    refresh_shared([_acknowledged_objective(instance)])


_TREE_FIELDS = {"team", "parent", "quarter"}


def _on_objective_saving(
    sender: type[Model], instance: Objective, update_fields: Any = None, **kwargs: Any
) -> None:
    if instance.pk is None or not _touches(update_fields, _TREE_FIELDS):
        return
    setattr(
        instance,
        _WAS,
        Objective.objects.filter(pk=instance.pk)
        .values_list("parent_id", "team_id")
        .order_by("pk")
        .first(),
    )


def _on_objective_saved(
    sender: type[Model],
    instance: Objective,
    created: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    touched = _touches(update_fields, _TREE_FIELDS)
    # A full save writes the flag from memory, possibly stale: refresh it after every one.
    # A save naming only the flag is someone writing it on purpose: nothing to redo.
    if not touched and not _touches(update_fields, {"definition_shared"}):
        return
    if update_fields is not None and set(update_fields) == {"definition_shared"}:
        return
    ids = {instance.pk}
    was = getattr(instance, _WAS, None)
    if hasattr(instance, _WAS):
        delattr(instance, _WAS)
    if created or (was is not None and was != (instance.parent_id, instance.team_id)):
        # Its team is in the group of every objective above it, now and before the move.
        ids |= _ancestor_ids([instance.parent_id, was[0] if was else None])
    shared = refresh_shared(ids)
    instance.definition_shared = shared.get(instance.pk, instance.definition_shared)


def _on_objective_deleted(sender: type[Model], instance: Objective, **kwargs: Any) -> None:
    refresh_shared(_ancestor_ids([instance.parent_id]))


def on_key_result_child_saved(
    sender: type[Model], instance: Any, update_fields: Any = None, **kwargs: Any
) -> None:
    """For a row of another app that adds teams to its key result's objective's group
    (a dependency: dependencies/apps.py connects it, as objectives cannot import it)."""
    if _touches(update_fields, {"key_result", "status", "provider_team"}):
        on_key_result_child_deleted(sender, instance)


def on_key_result_child_deleted(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    refresh_shared(
        KeyResult.objects.filter(pk=instance.key_result_id)
        .order_by()
        .values_list("objective_id", flat=True)
    )


def _refresh_open_quarters() -> None:
    refresh_shared(None)


def _on_membership_saving(
    sender: type[Model], instance: Membership, update_fields: Any = None, **kwargs: Any
) -> None:
    if instance.pk is not None and _touches(update_fields, {"role", "team", "user"}):
        setattr(
            instance,
            _WAS,
            Membership.objects.filter(pk=instance.pk)
            .values_list("role", "team_id", "user_id")
            .order_by("pk")
            .first(),
        )


def _on_membership_saved(
    sender: type[Model],
    instance: Membership,
    created: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    was = getattr(instance, _WAS, None)
    if hasattr(instance, _WAS):
        delattr(instance, _WAS)
    now = (instance.role, instance.team_id, instance.user_id)
    # Only a lead is in a definition group: a member joining or leaving changes none.
    if created:
        changed = instance.role == LEAD
    else:
        changed = was is not None and was != now and LEAD in (was[0], now[0])
    if changed:
        _refresh_open_quarters()


def _on_membership_deleted(sender: type[Model], instance: Membership, **kwargs: Any) -> None:
    if instance.role == LEAD:
        _refresh_open_quarters()


def _on_team_saving(
    sender: type[Model], instance: Team, update_fields: Any = None, **kwargs: Any
) -> None:
    if instance.pk is not None and _touches(update_fields, {"lead"}):
        setattr(
            instance,
            _WAS,
            Team.objects.filter(pk=instance.pk)
            .values_list("lead_id", flat=True)
            .order_by("pk")
            .first(),
        )


def _on_team_saved(
    sender: type[Model], instance: Team, created: bool = False, **kwargs: Any
) -> None:
    # A new team is in no group yet. Its parent is in none either: groups follow the
    # objectives' alignment, not the team tree.
    if not hasattr(instance, _WAS):
        return
    was = getattr(instance, _WAS)
    delattr(instance, _WAS)
    if not created and was != instance.lead_id:
        _refresh_open_quarters()


def _on_user_saving(
    sender: type[Model], instance: User, update_fields: Any = None, **kwargs: Any
) -> None:
    # Every sign-in saves last_login alone: that costs no query here.
    if instance.pk is not None and _touches(update_fields, {"is_active"}):
        setattr(
            instance,
            _WAS,
            type(instance)
            .objects.filter(pk=instance.pk)
            .values_list("is_active", flat=True)
            .order_by("pk")
            .first(),
        )


def _on_user_saved(sender: type[Model], instance: User, **kwargs: Any) -> None:
    # A new person is in no group yet (no membership, no group, leads nothing).
    if not hasattr(instance, _WAS):
        return
    was = getattr(instance, _WAS)
    delattr(instance, _WAS)
    if was is not None and was != instance.is_active:
        _refresh_open_quarters()


def _on_user_deleted(sender: type[Model], instance: User, **kwargs: Any) -> None:
    # Team.lead is set to NULL and the group links go without a signal of their own.
    _refresh_open_quarters()


def _on_groups_changed(
    sender: type[Model],
    instance: Any,
    action: str,
    reverse: bool,
    pk_set: set[int] | None,
    **kwargs: Any,
) -> None:
    from django.contrib.auth.models import Group

    name = leadership_group_name()
    if action == "pre_clear":
        # The names are gone by post_clear: note now whether leadership was among them.
        leadership = (
            instance.name == name if reverse else instance.groups.filter(name=name).exists()
        )
        setattr(instance, _WAS, leadership)
        return
    if action == "post_clear":
        leadership = bool(getattr(instance, _WAS, False))
        if hasattr(instance, _WAS):
            delattr(instance, _WAS)
    elif action in ("post_add", "post_remove") and pk_set:
        leadership = (
            instance.name == name
            if reverse
            else Group.objects.filter(pk__in=pk_set, name=name).exists()
        )
    else:
        return
    if leadership:
        _refresh_open_quarters()


def connect_signals() -> None:
    """Called once from ``ObjectivesConfig.ready`` (dependencies/apps.py connects its own)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

    user_model = get_user_model()
    connections: list[tuple[Any, Any, type[Model], str]] = [
        (post_save, _on_version_saved, DefinitionVersion, "version_save"),
        (post_delete, _on_version_deleted, DefinitionVersion, "version_delete"),
        (post_save, _on_acknowledgement_saved, DefinitionAcknowledgement, "ack_save"),
        (post_delete, _on_acknowledgement_deleted, DefinitionAcknowledgement, "ack_delete"),
        (pre_save, _on_objective_saving, Objective, "objective_pre"),
        (post_save, _on_objective_saved, Objective, "objective_save"),
        (post_delete, _on_objective_deleted, Objective, "objective_delete"),
        (pre_save, _on_membership_saving, Membership, "membership_pre"),
        (post_save, _on_membership_saved, Membership, "membership_save"),
        (post_delete, _on_membership_deleted, Membership, "membership_delete"),
        (pre_save, _on_team_saving, Team, "team_pre"),
        (post_save, _on_team_saved, Team, "team_save"),
        (pre_save, _on_user_saving, user_model, "user_pre"),
        (post_save, _on_user_saved, user_model, "user_save"),
        (post_delete, _on_user_deleted, user_model, "user_delete"),
        (m2m_changed, _on_groups_changed, user_model.groups.through, "user_groups"),
    ]
    for signal, receiver, model, uid in connections:
        signal.connect(receiver, sender=model, dispatch_uid=f"definition_shared_{uid}")
