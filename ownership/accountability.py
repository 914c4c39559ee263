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

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
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


def _counting_dependencies() -> QuerySet[Dependency]:
    """Dependencies that count for the test: every one but declined requests."""
    return Dependency.objects.exclude(status=Dependency.Status.DECLINED)


def annotate(queryset: QuerySet[KeyResult], today: date | None = None) -> QuerySet[KeyResult]:
    """Add the test's answers as columns of one SQL query, so that lists and the dashboard's
    aggregates (COUNT ... FILTER) compute it in the database for any number of key results.

    ``acct_ok`` is the verdict: accepted AND authority AND (top-two dependencies all kept,
    or none named and "needs no other team" declared).
    """
    today = today or timezone.localdate()
    latest = CheckIn.objects.filter(key_result=OuterRef("pk")).order_by("-week")
    # How many counting dependencies of the same key result rank above this one: a
    # dependency is in the top two when fewer than two do.
    above = (
        _counting_dependencies()
        .filter(key_result=OuterRef("key_result"), rank__lt=OuterRef("rank"))
        .order_by()
        .values("key_result")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    bad_top = (
        _counting_dependencies()
        .filter(key_result=OuterRef("pk"))
        .annotate(above=Coalesce(Subquery(above), 0))
        .filter(above__lt=TOP)
        .filter(Q(status__in=NOT_KEPT) | Q(status=Dependency.Status.COMMITTED, due_date__lt=today))
    )
    return queryset.annotate(
        acct_accepted=Exists(
            OwnershipNomination.objects.filter(
                key_result=OuterRef("pk"),
                nominee=OuterRef("owner"),
                status=OwnershipNomination.Status.ACCEPTED,
            )
        ),
        acct_declined=Exists(
            OwnershipNomination.objects.filter(
                key_result=OuterRef("pk"),
                nominee=OuterRef("owner"),
                status=OwnershipNomination.Status.DECLINED,
            )
        ),
        acct_pending_to=Subquery(
            OwnershipNomination.objects.filter(
                key_result=OuterRef("pk"), status=OwnershipNomination.Status.PENDING
            ).values("nominee_id")[:1]
        ),
        acct_authority=Exists(
            AuthorityGrant.objects.filter(
                key_result=OuterRef("pk"), grantee=OuterRef("owner"), revoked_at__isnull=True
            )
        ),
        acct_none_needed=Exists(NoDependencies.objects.filter(key_result=OuterRef("pk"))),
        acct_has_deps=Exists(_counting_dependencies().filter(key_result=OuterRef("pk"))),
        acct_bad_top=Exists(bad_top),
        acct_checkin_status=Subquery(latest.values("status")[:1]),
        acct_forecast_flag=Subquery(latest.values("forecast_flag")[:1]),
    ).annotate(
        acct_deps_ok=ExpressionWrapper(
            Q(acct_has_deps=True, acct_bad_top=False)
            | Q(acct_has_deps=False, acct_none_needed=True),
            output_field=BooleanField(),
        ),
        acct_ok=ExpressionWrapper(
            Q(acct_accepted=True, acct_authority=True)
            & (
                Q(acct_has_deps=True, acct_bad_top=False)
                | Q(acct_has_deps=False, acct_none_needed=True)
            ),
            output_field=BooleanField(),
        ),
    )


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


def _owner_check(kr: Any) -> Check:
    name = kr.owner.get_full_name() or kr.owner.get_username()
    label = "Owner accepted"
    handover = reverse("ownership:handover", args=[kr.pk])
    if kr.acct_accepted:
        if kr.acct_pending_to:
            return Check(
                "owner", label, True, f"{name} accepted; a handover is waiting for an answer."
            )
        return Check("owner", label, True, f"{name} accepted ownership.")
    if kr.acct_declined:
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
        reverse("objectives:key_result", args=[kr.pk]),
    )


def _authority_check(kr: Any) -> Check:
    label = "Authority documented"
    if kr.acct_authority:
        return Check("authority", label, True, "The owner has documented decision authority.")
    return Check(
        "authority",
        label,
        False,
        "No documented decision authority for the owner.",
        "Grant authority",
        reverse("ownership:grant", args=[kr.pk]),
    )


def _dependency_check(kr: Any, top: list[Dependency], today: date) -> Check:
    """The verdict is the database's (``acct_deps_ok``); the dependencies read here only
    explain it in words."""
    label = "Top dependencies committed"
    page = reverse("objectives:key_result", args=[kr.pk])
    if kr.acct_deps_ok:
        if not top:
            return Check(
                "dependencies", label, True, "The owner declared that no other team is needed."
            )
        return Check("dependencies", label, True, "Top dependencies are committed and on time.")
    if not top:
        if kr.acct_none_needed:
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
    """Run the test for many key results: two queries whatever their number (one for the
    annotated key results, one for their top dependencies)."""
    today = today or timezone.localdate()
    ids = [kr.pk for kr in key_results]
    rows = list(annotate(KeyResult.objects.filter(pk__in=ids).select_related("owner"), today))
    top = _top_dependencies(ids)
    results = {}
    for kr in rows:
        checks = [_owner_check(kr), _authority_check(kr), _dependency_check(kr, top[kr.pk], today)]
        results[kr.pk] = AccountabilityResult(
            key_result_id=kr.pk,
            checks=checks,
            checkin_status=kr.acct_checkin_status or "",  # type: ignore[attr-defined]
            forecast_flag=bool(kr.acct_forecast_flag),  # type: ignore[attr-defined]
            failing=[c.name for c in checks if not c.passed],
        )
    return results


def accountability(key_result: KeyResult) -> AccountabilityResult:
    return accountability_for([key_result])[key_result.pk]
