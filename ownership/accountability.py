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

A key result a trade-off dropped or deferred (rule 8) has left the quarter's counts: it is
neither at risk nor missed. Its checks are still computed (its page keeps its history), but
``at_risk`` is false and ``displaced_by`` names the trade-off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from django.utils import timezone

from checkins.models import CheckIn
from dependencies.models import Dependency
from objectives.models import KeyResult
from okrly import sql
from okrly.links import link
from ownership.status import flags as status_flags
from ownership.verdict import (
    NOT_COUNTED,
    TOP,
    Flags,
    not_kept_because,
)


class Code(StrEnum):
    """Each check's outcome as a state, for code and templates to branch on (the reason is
    words for people and may change)."""

    ACCEPTED = "accepted"
    HANDOVER_PENDING = "handover_pending"  # accepted, and a handover waits for an answer
    DECLINED = "declined"
    NOT_ACCEPTED = "not_accepted"
    AUTHORITY = "authority"
    NO_AUTHORITY = "no_authority"
    KEPT = "kept"
    NONE_NEEDED = "none_needed"
    NO_DEPENDENCIES_NAMED = "no_dependencies_named"
    NOT_KEPT = "not_kept"


@dataclass(slots=True)
class Check:
    name: str  # owner | authority | dependencies
    label: str
    passed: bool
    reason: str
    fix_label: str = ""
    # The view and key that fix a failing check, made a link only when a page prints it (a
    # table of 50 key results shows their reasons, not their links).
    fix: tuple[str, int] | None = None
    code: Code | None = None

    @property
    def fix_url(self) -> str:
        return link(*self.fix) if self.fix is not None else ""


@dataclass
class AccountabilityResult:
    key_result_id: int
    checks: list[Check]
    checkin_status: str = ""
    forecast_flag: bool = False
    failing: list[str] = field(default_factory=list)
    displaced_by: int | None = None  # the trade-off that dropped or deferred it

    @property
    def displaced(self) -> bool:
        return self.displaced_by is not None

    @property
    def at_risk(self) -> bool:
        """At risk when any check fails, regardless of progress; never once displaced."""
        return bool(self.failing) and not self.displaced

    @property
    def passed(self) -> bool:
        return not self.failing

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if not c.passed]

    @property
    def checkin_risk(self) -> str:
        if self.displaced:
            return ""
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
            "displaced_by_trade_off": self.displaced_by,
        }


def _top_dependencies(ids: list[int]) -> dict[int, list[Any]]:
    """The two most important dependencies of each key result that still count (declined
    requests no longer do): one query for any number of key results, the database keeping
    only each one's top two and only the columns the words need (rows with ``pk``,
    ``key_result_id``, ``deliverable``, ``status``, ``due_date``, ``rank``). SQL
    (okrly.sql): every list of key results runs it on every request."""
    found: dict[int, list[Any]] = defaultdict(list)
    # An empty list would skip the query: the id 0 matches nothing and keeps a page's count
    # of queries the same whether or not a key result fails check (c).
    ids = ids or [0]
    marks = sql.placeholders(ids)
    for dep in sql.rows(
        f"""
SELECT pk, key_result_id, deliverable, status, due_date, rank FROM (
    SELECT d.id AS pk, d.key_result_id, d.deliverable, d.status, d.due_date, d.rank,
           ROW_NUMBER() OVER (PARTITION BY d.key_result_id ORDER BY d.rank) AS position
    FROM {sql.table(Dependency)} d
    WHERE d.key_result_id IN ({marks}) AND d.status <> %s
) ranked
WHERE position <= %s
ORDER BY key_result_id, rank""",
        [*ids, NOT_COUNTED.value, TOP],
    ):
        found[dep.key_result_id].append(dep)
    return found


def _owner_check(kr: Flags) -> Check:
    name = kr.owner_name
    label = "Owner accepted"
    # Fix links only where a check fails (a list of 50 key results printed 150 otherwise).
    if kr.accepted:
        if kr.pending_to:
            return Check(
                "owner",
                label,
                True,
                f"{name} accepted; a handover is waiting for an answer.",
                code=Code.HANDOVER_PENDING,
            )
        return Check("owner", label, True, f"{name} accepted ownership.", code=Code.ACCEPTED)
    if kr.declined:
        return Check(
            "owner",
            label,
            False,
            f"{name} declined ownership; nominate someone else.",
            "Nominate an owner",
            ("ownership:handover", kr.key_result_id),
            code=Code.DECLINED,
        )
    return Check(
        "owner",
        label,
        False,
        f"{name} has not accepted ownership yet.",
        "Ask them to accept",
        ("objectives:key_result", kr.key_result_id),
        code=Code.NOT_ACCEPTED,
    )


def _authority_check(kr: Flags) -> Check:
    label = "Authority documented"
    if kr.authority:
        return Check(
            "authority",
            label,
            True,
            "The owner has documented decision authority.",
            code=Code.AUTHORITY,
        )
    return Check(
        "authority",
        label,
        False,
        "No documented decision authority for the owner.",
        "Grant authority",
        ("ownership:grant", kr.key_result_id),
        code=Code.NO_AUTHORITY,
    )


def _dependency_check(kr: Flags, top: list[Any], today: date) -> Check:
    """The verdict is the database's (``deps_ok``); the dependencies read here only explain
    it in words."""
    label = "Top dependencies committed"
    none_needed = "The owner declared that no other team is needed."
    if kr.deps_ok:
        if not kr.has_deps:
            return Check("dependencies", label, True, none_needed, code=Code.NONE_NEEDED)
        return Check(
            "dependencies",
            label,
            True,
            "Top dependencies are committed and on time.",
            code=Code.KEPT,
        )
    if not kr.has_deps:
        if kr.none_needed:
            return Check("dependencies", label, True, none_needed, code=Code.NONE_NEEDED)
        return Check(
            "dependencies",
            label,
            False,
            "No dependencies named: name the top two, or declare that none are needed.",
            "Name dependencies",
            ("objectives:key_result", kr.key_result_id),
            code=Code.NO_DEPENDENCIES_NAMED,
        )
    problems = []
    for dep in top:
        if why := not_kept_because(dep, today):
            problems.append(f"“{dep.deliverable}” {why}")
    if problems:
        first = next(d for d in top if d.status != Dependency.Status.DELIVERED)
        return Check(
            "dependencies",
            label,
            False,
            "; ".join(problems) + ".",
            "Chase the dependency",
            ("dependencies:detail", first.pk),
            code=Code.NOT_KEPT,
        )
    # Only reached if the words and the database's verdict disagree: the verdict wins.
    return Check(
        "dependencies",
        label,
        False,
        "The top dependencies are not all kept.",
        code=Code.NOT_KEPT,
    )


def accountability_for(
    key_results: Iterable[Any], *, today: date | None = None
) -> dict[int, AccountabilityResult]:
    """Run the test for many key results: two queries whatever their number (the flags, and
    the top dependencies that explain a failing third check)."""
    today = today or timezone.localdate()
    return results_for(status_flags([kr.pk for kr in key_results], today), today)


def results_for(flags: dict[int, Flags], today: date) -> dict[int, AccountabilityResult]:
    """The test's results from its inputs already read (``ownership.status.flags``, or a
    list's rows that selected ``FLAG_SELECT``): one query, the top dependencies that explain
    a failing third check."""
    # The dependencies only explain a failing check (c) in words: read for those alone.
    top = _top_dependencies([pk for pk, f in flags.items() if f.has_deps and not f.deps_ok])
    results = {}
    for pk, f in flags.items():
        checks = [_owner_check(f), _authority_check(f), _dependency_check(f, top[pk], today)]
        results[pk] = AccountabilityResult(
            key_result_id=pk,
            checks=checks,
            checkin_status=f.checkin_status,
            forecast_flag=f.forecast_flag,
            failing=[c.name for c in checks if not c.passed],
            displaced_by=f.displaced_by,
        )
    return results


def accountability(key_result: KeyResult) -> AccountabilityResult:
    return accountability_for([key_result])[key_result.pk]
