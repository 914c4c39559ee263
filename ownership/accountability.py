"""The Accountability Test (rule 5): one function used by pages, the dashboard and the API.

For a key result:
  (a) owner   — a single owner who has accepted;
  (b) authority — documented authority in force for that owner;
  (c) dependencies — its top two dependencies named, committed and not overdue, at risk or
      broken (delivered ones count as kept); a key result with no dependencies passes only if
      its owner declared that it needs none.
Failing any check puts the key result at risk whatever its progress. Risk stated in the
latest check-in (at risk, off track, or "on track" contradicted by the forecast) is reported
alongside, not mixed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult
from ownership.models import AuthorityGrant, NoDependencies, OwnershipNomination

TOP = 2


@dataclass(frozen=True)
class Check:
    name: str  # owner | authority | dependencies
    label: str
    passed: bool
    reason: str
    fix_label: str = ""
    fix_url: str = ""


@dataclass
class AccountabilityResult:
    key_result_id: int
    checks: list[Check]
    checkin_status: str = ""
    forecast_flag: bool = False
    failing: list[str] = field(default_factory=list)

    @property
    def at_risk(self) -> bool:
        """At risk when any check fails, regardless of progress."""
        return bool(self.failing)

    @property
    def passed(self) -> bool:
        return not self.failing

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]

    @property
    def checkin_risk(self) -> str:
        if self.checkin_status in (CheckIn.Status.AT_RISK, CheckIn.Status.OFF_TRACK):
            return CheckIn.Status(self.checkin_status).label
        if self.forecast_flag:
            return "Stated on track, forecast misses"
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "at_risk": self.at_risk,
            "checks": {c.name: {"passed": c.passed, "reason": c.reason} for c in self.checks},
            "reasons": self.reasons,
            "checkin_risk": self.checkin_risk,
        }


# A top-two dependency that is not kept: waiting for an answer, at risk, broken, or
# committed and past its due date (a delivered one is kept).
NOT_KEPT = (
    Dependency.Status.REQUESTED,
    Dependency.Status.COUNTERED,
    Dependency.Status.AT_RISK,
    Dependency.Status.BROKEN,
)


@dataclass(frozen=True)
class Flags:
    """The test's inputs for one key result, as the database computed them."""

    key_result_id: int
    team_id: int
    owner_id: int
    owner_name: str
    accepted: bool
    declined: bool
    pending_to: int | None
    authority: bool
    none_needed: bool
    has_deps: bool
    deps_ok: bool
    ok: bool
    checkin_status: str
    forecast_flag: bool


def flags_cte(scope: str) -> str:
    """SQL (a WITH clause ending in the ``flags`` table) that computes the test for every key
    result matching ``scope`` (a condition on ``k``, the key results, and ``o``, their
    objectives) in one pass of joins, the single definition of the verdict (``ok``):

    accepted AND authority AND (top two counting dependencies all kept, or none counting and
    "needs no other team" declared).

    Every table is read once and joined; nothing runs per row, so the cost stays flat as the
    organisation grows. The latest check-in comes from the key result's own columns.
    Parameters: today, and the status names (see ``flags_params``).
    """
    kr, obj, user = KeyResult._meta.db_table, "objectives_objective", "auth_user"
    dep, nom = Dependency._meta.db_table, OwnershipNomination._meta.db_table
    grant, nodeps = AuthorityGrant._meta.db_table, NoDependencies._meta.db_table
    return f"""
WITH kr AS (
    SELECT k.id, k.owner_id, o.team_id, k.latest_checkin_status, k.latest_forecast_flag,
           u.first_name, u.last_name, u.username
    FROM {kr} k
    JOIN {obj} o ON o.id = k.objective_id
    JOIN {user} u ON u.id = k.owner_id
    WHERE {scope}
),
answers AS (
    SELECT n.key_result_id,
           MAX(CASE WHEN n.status = %(accepted)s AND n.nominee_id = kr.owner_id
                    THEN 1 ELSE 0 END) AS accepted,
           MAX(CASE WHEN n.status = %(declined)s AND n.nominee_id = kr.owner_id
                    THEN 1 ELSE 0 END) AS declined,
           MAX(CASE WHEN n.status = %(pending)s THEN n.nominee_id END) AS pending_to
    FROM {nom} n JOIN kr ON kr.id = n.key_result_id
    GROUP BY n.key_result_id
),
authority AS (
    SELECT DISTINCT g.key_result_id
    FROM {grant} g JOIN kr ON kr.id = g.key_result_id AND g.grantee_id = kr.owner_id
    WHERE g.revoked_at IS NULL
),
ranked AS (
    SELECT d.key_result_id, d.status, d.due_date,
           ROW_NUMBER() OVER (PARTITION BY d.key_result_id ORDER BY d.rank) AS position
    FROM {dep} d JOIN kr ON kr.id = d.key_result_id
    WHERE d.status <> %(dep_declined)s
),
deps AS (
    SELECT key_result_id,
           MAX(CASE WHEN position <= {TOP} AND (
                   status IN (%(requested)s, %(countered)s, %(at_risk)s, %(broken)s)
                   OR (status = %(committed)s AND due_date < %(today)s)
               ) THEN 1 ELSE 0 END) AS bad_top
    FROM ranked GROUP BY key_result_id
),
flags AS (
    SELECT kr.id, kr.team_id, kr.owner_id, kr.first_name, kr.last_name, kr.username,
           kr.latest_checkin_status, kr.latest_forecast_flag,
           COALESCE(a.accepted, 0) AS accepted,
           COALESCE(a.declined, 0) AS declined,
           a.pending_to,
           CASE WHEN au.key_result_id IS NULL THEN 0 ELSE 1 END AS authority,
           CASE WHEN nd.key_result_id IS NULL THEN 0 ELSE 1 END AS none_needed,
           CASE WHEN d.key_result_id IS NULL THEN 0 ELSE 1 END AS has_deps,
           CASE WHEN (d.key_result_id IS NOT NULL AND d.bad_top = 0)
                  OR (d.key_result_id IS NULL AND nd.key_result_id IS NOT NULL)
                THEN 1 ELSE 0 END AS deps_ok,
           CASE WHEN COALESCE(a.accepted, 0) = 1 AND au.key_result_id IS NOT NULL
                 AND ((d.key_result_id IS NOT NULL AND d.bad_top = 0)
                   OR (d.key_result_id IS NULL AND nd.key_result_id IS NOT NULL))
                THEN 1 ELSE 0 END AS ok
    FROM kr
    LEFT JOIN answers a ON a.key_result_id = kr.id
    LEFT JOIN authority au ON au.key_result_id = kr.id
    LEFT JOIN {nodeps} nd ON nd.key_result_id = kr.id
    LEFT JOIN deps d ON d.key_result_id = kr.id
)
"""


def flags_params(today: date) -> dict[str, Any]:
    S, N = Dependency.Status, OwnershipNomination.Status
    return {
        "today": today,
        "accepted": N.ACCEPTED,
        "declined": N.DECLINED,
        "pending": N.PENDING,
        "dep_declined": S.DECLINED,
        "requested": S.REQUESTED,
        "countered": S.COUNTERED,
        "at_risk": S.AT_RISK,
        "broken": S.BROKEN,
        "committed": S.COMMITTED,
    }


def key_result_flags(ids: list[int], today: date) -> dict[int, Flags]:
    """The test's inputs for these key results: one query."""
    if not ids:
        return {}
    placeholders = ", ".join(f"%(id{i})s" for i in range(len(ids)))
    params = {**flags_params(today), **{f"id{i}": pk for i, pk in enumerate(ids)}}
    sql = (
        flags_cte(f"k.id IN ({placeholders})")
        + """
SELECT id, team_id, owner_id, first_name, last_name, username, accepted, declined,
       pending_to, authority, none_needed, has_deps, deps_ok, ok, latest_checkin_status,
       latest_forecast_flag
FROM flags"""
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = {}
    for (
        pk,
        team_id,
        owner_id,
        first,
        last,
        username,
        accepted,
        declined,
        pending_to,
        authority,
        none_needed,
        has_deps,
        deps_ok,
        ok,
        status,
        forecast,
    ) in rows:
        found[pk] = Flags(
            key_result_id=pk,
            team_id=team_id,
            owner_id=owner_id,
            owner_name=f"{first} {last}".strip() or username,
            accepted=bool(accepted),
            declined=bool(declined),
            pending_to=pending_to,
            authority=bool(authority),
            none_needed=bool(none_needed),
            has_deps=bool(has_deps),
            deps_ok=bool(deps_ok),
            ok=bool(ok),
            checkin_status=status or "",
            forecast_flag=bool(forecast),
        )
    return found


def _top_dependencies(ids: list[int]) -> dict[int, list[Dependency]]:
    """The two most important dependencies of each key result that still count (declined
    requests no longer do): one query for any number of key results."""
    found: dict[int, list[Dependency]] = defaultdict(list)
    rows = (
        Dependency.objects.filter(key_result_id__in=ids)
        .exclude(status=Dependency.Status.DECLINED)
        .select_related("responsible", "provider_team")
        .order_by("key_result_id", "rank")
    )
    for dep in rows:
        if len(found[dep.key_result_id]) < TOP:
            found[dep.key_result_id].append(dep)
    return found


def _owner_check(kr: Flags) -> Check:
    name = kr.owner_name
    label = "Owner accepted"
    handover = reverse("ownership:handover", args=[kr.key_result_id])
    if kr.accepted:
        if kr.pending_to:
            return Check(
                "owner", label, True, f"{name} accepted; a handover is waiting for an answer."
            )
        return Check("owner", label, True, f"{name} accepted ownership.")
    if kr.declined:
        return Check(
            "owner",
            label,
            False,
            f"{name} declined ownership; nominate someone else.",
            "Nominate an owner",
            handover,
        )
    return Check(
        "owner",
        label,
        False,
        f"{name} has not accepted ownership yet.",
        "Ask them to accept",
        reverse("objectives:key_result", args=[kr.key_result_id]),
    )


def _authority_check(kr: Flags) -> Check:
    label = "Authority documented"
    if kr.authority:
        return Check("authority", label, True, "The owner has documented decision authority.")
    return Check(
        "authority",
        label,
        False,
        "No documented decision authority for the owner.",
        "Grant authority",
        reverse("ownership:grant", args=[kr.key_result_id]),
    )


def _dependency_check(kr: Flags, top: list[Dependency], today: date) -> Check:
    """The verdict is the database's (``deps_ok``); the dependencies read here only explain
    it in words."""
    label = "Top dependencies committed"
    page = reverse("objectives:key_result", args=[kr.key_result_id])
    if kr.deps_ok:
        if not top:
            return Check(
                "dependencies", label, True, "The owner declared that no other team is needed."
            )
        return Check("dependencies", label, True, "Top dependencies are committed and on time.")
    if not top:
        if kr.none_needed:
            return Check(
                "dependencies", label, True, "The owner declared that no other team is needed."
            )
        return Check(
            "dependencies",
            label,
            False,
            "No dependencies named: name the top two, or declare that none are needed.",
            "Name dependencies",
            page,
        )
    problems = []
    for dep in top:
        what = f"“{dep.deliverable}”"
        if dep.status == Dependency.Status.DELIVERED:
            continue
        if dep.status in (Dependency.Status.REQUESTED, Dependency.Status.COUNTERED):
            problems.append(f"{what} is not committed yet")
        elif dep.status == Dependency.Status.AT_RISK:
            problems.append(f"{what} is at risk")
        elif dep.status == Dependency.Status.BROKEN:
            problems.append(f"{what} is broken")
        elif dep.due_date < today:
            problems.append(f"{what} is overdue (due {dep.due_date:%d %b})")
    if problems:
        first = next(d for d in top if d.status != Dependency.Status.DELIVERED)
        return Check(
            "dependencies",
            label,
            False,
            "; ".join(problems) + ".",
            "Chase the dependency",
            reverse("dependencies:detail", args=[first.pk]),
        )
    # Only reached if the words and the database's verdict disagree: the verdict wins.
    return Check("dependencies", label, False, "The top dependencies are not all kept.")


def accountability_for(
    key_results: Iterable[KeyResult], *, today: date | None = None
) -> dict[int, AccountabilityResult]:
    """Run the test for many key results: two queries whatever their number (the flags, and
    the top dependencies that explain a failing third check)."""
    today = today or timezone.localdate()
    ids = [kr.pk for kr in key_results]
    flags = key_result_flags(ids, today)
    top = _top_dependencies(ids)
    results = {}
    for pk, f in flags.items():
        checks = [_owner_check(f), _authority_check(f), _dependency_check(f, top[pk], today)]
        results[pk] = AccountabilityResult(
            key_result_id=pk,
            checks=checks,
            checkin_status=f.checkin_status,
            forecast_flag=f.forecast_flag,
            failing=[c.name for c in checks if not c.passed],
        )
    return results


def accountability(key_result: KeyResult) -> AccountabilityResult:
    return accountability_for([key_result])[key_result.pk]
