"""Demo responses to missed commitments (rule 10) and early escalations (rule 7): the last
demo seeder (``ReviewsConfig.ready()``, after the definitions and Product's trade-off), so
that every key result, dependency and check-in it builds on exists.

Everything goes through the real services, as a person would do it:

1. **An open response, a surprise.** A dependency nobody signalled is committed, then broken
   by its requester (``dependencies.services.dependency_break`` opens the response through
   ``okrly.registry.report_miss``). Chloe's "Time to first response" is on track and was never
   flagged; Product's trade-off took Aisha off the help-button routing she promised. The key
   result is picked from ``SURPRISES`` as the first that has no signal at all (a risky or
   forecast-flagged check-in, an early escalation, a dependency flagged at risk), so the
   dashboard's surprise rate is above zero; late in a quarter the demo's check-ins all carry
   the stated-vs-forecast flag, and then the first candidate is used anyway.
2. **A recorded response, signalled.** Marketing's webinar, whose key result has been at
   risk for weeks, lost its customer speakers: David and Lena record the conversation, the
   gap and a next step (``reviews.responses.response_record``).
3. **An answered early escalation**: Ethan asks Priya to fund the cluster nodes that Self-
   service environments wait for, and she decides.
4. **An open early escalation** asked of Tom (a demo login), so "Asked of me" shows it.

Keyed by what each one asks (a dependency's deliverable, an escalation's key result and
raiser): safe to run twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from checkins.models import CheckIn
from dependencies import services as dependencies
from dependencies.models import Dependency, DependencyEvent
from objectives.models import KeyResult
from okrly import orgsettings
from okrly.demo import demo_quarter
from okrly.models import Quarter, Team, local_today
from okrly.workdays import add_working_days, add_working_hours
from reviews import early_escalations, responses, risks, snapshots
from reviews.models import EarlyEscalation, MissResponse, ResponseCause

if TYPE_CHECKING:
    from okrly.types import User


@dataclass(frozen=True)
class BrokenPromise:
    key_result: str  # its title; the owner requests, and later marks the promise broken
    provider: str  # team slug
    responsible: str  # username, on the providing team
    deliverable: str
    due_in_days: int
    reason: str


# The surprise, in order of preference (see the module's docstring).
SURPRISES = [
    BrokenPromise(
        "Time to first response",
        "product",
        "aisha",
        "Help button that files straight into the support queue",
        10,
        "Aisha was moved onto Northwind's SSO rollout by Product's trade-off. We learned the "
        "help-button routing will not ship this quarter only when we asked for a test build.",
    ),
    BrokenPromise(
        "Change failure rate",
        "platform",
        "olivia",
        "Canary stage in the deploy pipeline",
        10,
        "Platform paused pipeline work to get API latency down, and the canary stage slipped "
        "to next quarter without a word to us.",
    ),
]

# Signalled for weeks (the webinar's check-ins say at risk), then missed, and answered.
SIGNALLED = BrokenPromise(
    "Webinar attendance",
    "customer-success",
    "david",
    "Two customer speakers for the next live webinar",
    7,
    "Both customer speakers withdrew after reorganisations at their own companies. We heard "
    "two days before the session and had no back-up speaker.",
)
# Broken this long before the demo is seeded (within the quarter), recorded since.
SIGNALLED_BROKEN_AGO = timedelta(days=4)
# The record: David's manager, Lena, holds the conversation (with Fatima, who owns the key
# result); the cause is from the catalogue (reviews/migrations/0004).
RECORDER = "lena"
PARTICIPANTS = ["david", "lena", "fatima"]
CAUSE = "External"
GAP = (
    "We confirmed the speakers only three weeks ahead and relied on their goodwill, with no "
    "back-up. When both withdrew, nobody in Customer Success owned finding replacements, so "
    "Marketing found out too late to recover the session."
)
NEXT_STEP = (
    "Keep a bench of four customer speakers confirmed six weeks before each webinar, with a "
    "named back-up for every session."
)
NEXT_STEP_OWNER = "david"
NEXT_STEP_DUE_IN = timedelta(days=14)


@dataclass(frozen=True)
class Escalate:
    key_result: str
    raised_by: str
    asked_of: str
    need: str
    needed_in_days: int
    dependency: str = ""  # one of the key result's dependencies, by deliverable
    decision: str = ""  # answered (decided) when set
    raised_ago: timedelta = timedelta(0)


ANSWERED = Escalate(
    "Self-service environments",
    "ethan",
    "priya",
    "The budget committee meets after our date, and without the extra cluster nodes we stop at "
    "8 self-service environments, not 12. Can Engineering fund the nodes from its Q4 budget "
    "until the committee decides, or do we lower the target now?",
    3,
    dependency="Cluster budget approval",
    decision=(
        "Engineering funds the extra nodes from its Q4 tooling budget until the committee "
        "meets; Mateo raises the purchase order this week. Keep the target at 12."
    ),
    # Raised mid-quarter, while it could still be corrected (rule 7).
    raised_ago=timedelta(days=17),
)
# On Ana's other key result: "Raise activation within 7 days" is the one the browser test
# (tests/e2e/test_early_escalation_browser.py) escalates itself.
STILL_OPEN = Escalate(
    "Interview churned teams",
    "ana",
    "tom",
    "Nine interviews of 25 so far: most churned teams no longer answer our e-mails. Decide "
    "whether interviews with teams about to churn count towards the 25, or ask Sam to "
    "introduce us to the churned accounts Sales still talks to.",
    4,
)


def seed(today: date) -> dict[str, int]:
    quarter = demo_quarter(today)
    if quarter is None or quarter.status != Quarter.Status.ACTIVE:
        return {}
    users = {u.username: u for u in get_user_model().objects.select_related("profile")}
    key_results = {
        kr.title: kr
        for kr in KeyResult.objects.filter(objective__quarter=quarter).select_related(
            "owner__profile", "objective__team", "objective__quarter"
        )
    }
    _surprise(key_results, users, today)
    _signalled(quarter, key_results, users, today)
    for escalation in (ANSWERED, STILL_OPEN):
        _escalate(escalation, quarter, key_results, users, today)
    _headlines(quarter, today)
    return {
        "missed-commitment responses": MissResponse.objects.filter(quarter=quarter).count(),
        "early escalations": EarlyEscalation.objects.filter(
            key_result__objective__quarter=quarter
        ).count(),
    }


# --- responses ---------------------------------------------------------------------------------


def _existing(promise: BrokenPromise, key_results: dict[str, KeyResult]) -> Dependency | None:
    kr = key_results.get(promise.key_result)
    if kr is None:
        return None
    return Dependency.objects.filter(key_result=kr, deliverable=promise.deliverable).first()


def _unsignalled(kr: KeyResult) -> bool:
    """Nothing warned about ``kr`` so far: the signals the surprise rate counts (reviews.
    selectors.miss_rows), for a miss that would happen now."""
    risky = CheckIn.objects.filter(key_result=kr).filter(
        Q(status__in=[CheckIn.Status.AT_RISK, CheckIn.Status.OFF_TRACK]) | Q(forecast_flag=True)
    )
    flagged = DependencyEvent.objects.filter(
        dependency__key_result=kr, to_status=Dependency.Status.AT_RISK
    )
    return not (
        risky.exists() or EarlyEscalation.objects.filter(key_result=kr).exists() or flagged.exists()
    )


def _break(
    promise: BrokenPromise, kr: KeyResult, users: dict[str, User], today: date
) -> Dependency | None:
    """Request, commit and break ``promise``: the break opens its response."""
    team = Team.objects.filter(slug=promise.provider).first()
    responsible = users.get(promise.responsible)
    if team is None or responsible is None or kr.owner is None or kr.displaced_by_id:
        return None  # an administrator reshaped the demo organisation
    dep = dependencies.dependency_request(
        user=kr.owner,
        key_result=kr,
        provider_team=team,
        responsible=responsible,
        deliverable=promise.deliverable,
        due_date=today + timedelta(days=promise.due_in_days),
        confirm_outside_quarter=True,
    )
    dependencies.dependency_commit(dependency=dep, user=responsible)
    return dependencies.dependency_break(dependency=dep, user=kr.owner, reason=promise.reason)


def _surprise(key_results: dict[str, KeyResult], users: dict[str, User], today: date) -> None:
    if any(_existing(p, key_results) is not None for p in SURPRISES):
        return  # seeded already
    candidates = [p for p in SURPRISES if p.key_result in key_results]
    chosen = next(
        (p for p in candidates if _unsignalled(key_results[p.key_result])),
        candidates[0] if candidates else None,
    )
    if chosen is not None:
        _break(chosen, key_results[chosen.key_result], users, today)


def _signalled(
    quarter: Quarter, key_results: dict[str, KeyResult], users: dict[str, User], today: date
) -> None:
    promise = SIGNALLED
    kr = key_results.get(promise.key_result)
    if kr is None or _existing(promise, key_results) is not None:
        return
    dep = _break(promise, kr, users, today)
    if dep is None:
        return
    response = (
        MissResponse.objects.filter(dependency=dep).select_related("accountable__profile").first()
    )
    if response is None:
        return
    _backdate_break(quarter, dep, response)
    _record(quarter, response, users)


def _backdate_break(quarter: Quarter, dep: Dependency, response: MissResponse) -> None:
    """The services stamp everything now; this miss happened a few days ago (never before the
    quarter), so the response shows days to respond. Its deadline is recomputed from the
    earlier opening, as ``responses.response_open`` would have set it then."""
    now = timezone.now()
    start = timezone.make_aware(datetime.combine(quarter.start, datetime.min.time()))
    broken = max(now - SIGNALLED_BROKEN_AGO, start)
    asked = max(broken - timedelta(days=14), start)
    Dependency.objects.filter(pk=dep.pk).update(
        requested_at=asked, committed_at=asked + (broken - asked) / 7
    )
    events = DependencyEvent.objects.filter(dependency=dep)
    events.filter(action="request").update(created_at=asked)
    events.filter(action="commit").update(created_at=asked + (broken - asked) / 7)
    events.filter(action="break").update(created_at=broken)
    zone = str(response.accountable.profile.timezone)  # every demo person has a profile
    due_at = add_working_days(broken, orgsettings.value("RESPONSE_DAYS"), zone)
    MissResponse.objects.filter(pk=response.pk).update(opened_at=broken, due_at=due_at)
    response.refresh_from_db()


def _record(quarter: Quarter, response: MissResponse, users: dict[str, User]) -> None:
    recorder = users.get(RECORDER)
    owner = users.get(NEXT_STEP_OWNER)
    cause = ResponseCause.objects.filter(name=CAUSE, active=True).first()
    participants = [users[u] for u in PARTICIPANTS if u in users]
    if recorder is None or owner is None or cause is None:
        return
    local = local_today(recorder)
    # Held the day after the break, as soon as everyone was back (never before the quarter).
    held_on = max(quarter.start, timezone.localdate(response.opened_at) + timedelta(days=1))
    if held_on > local:
        held_on = local
    if held_on < quarter.start:
        return  # the quarter has not started where the recorder is: nothing to record yet
    responses.response_record(
        user=recorder,
        response=response,
        conversation_on=held_on,
        participants=participants,
        cause=cause,
        gap=GAP,
        next_step_what=NEXT_STEP,
        next_step_owner=owner,
        next_step_due=local_today(owner) + NEXT_STEP_DUE_IN,
    )


# --- early escalations -------------------------------------------------------------------------


def _escalate(
    item: Escalate,
    quarter: Quarter,
    key_results: dict[str, KeyResult],
    users: dict[str, User],
    today: date,
) -> None:
    kr = key_results.get(item.key_result)
    raiser, asked = users.get(item.raised_by), users.get(item.asked_of)
    if kr is None or raiser is None or asked is None or kr.displaced_by_id:
        return
    if EarlyEscalation.objects.filter(key_result=kr, raised_by=raiser).exists():
        return  # seeded already
    dependency = (
        Dependency.objects.filter(key_result=kr, deliverable=item.dependency).first()
        if item.dependency
        else None
    )
    escalation = early_escalations.escalation_raise(
        user=raiser,
        key_result=kr,
        need=item.need,
        asked_of=asked,
        needed_by=min(local_today(raiser) + timedelta(days=item.needed_in_days), quarter.end),
        dependency=dependency,
    )
    if not item.decision:
        return
    escalation = early_escalations.escalation_answer(
        user=asked,
        escalation=escalation,
        status=EarlyEscalation.Status.DECIDED,
        answer=item.decision,
    )
    _backdate_escalation(escalation, quarter, item)


def _backdate_escalation(escalation: EarlyEscalation, quarter: Quarter, item: Escalate) -> None:
    """The services stamp now; this one was raised weeks ago (never before the quarter), so
    the risk feed and the people view show it raised early and answered within its deadline.
    The date asked for and the deadline move with it; the answer came 20 working hours
    later (a weekend does not count), and always well within the deadline."""
    now = timezone.now()
    start = timezone.make_aware(datetime.combine(quarter.start, datetime.min.time()))
    raised = now - item.raised_ago
    while raised.weekday() >= 5:  # raised on a working day
        raised -= timedelta(days=1)
    raised = max(raised, start)
    shift = now - raised
    if shift <= timedelta(0):
        return
    needed_by = escalation.needed_by - timedelta(days=shift.days)
    zone = str(escalation.asked_of.profile.timezone)
    due = early_escalations.answer_due(raised, max(needed_by, raised.date()), zone)
    answered = min(add_working_hours(raised, 20, zone), due - (due - raised) / 4)
    EarlyEscalation.objects.filter(pk=escalation.pk).update(
        raised_at=raised,
        needed_by=max(needed_by, raised.date()),
        answer_due_at=due,
        answered_at=answered,
    )
    # update() sends no signal: its risk feed item takes the earlier date here.
    risks.refresh([escalation.key_result_id])


def _headlines(quarter: Quarter, today: date) -> None:
    """Last week's and this week's dashboard headline rows (the beat job writes them from
    now on), so the demo's dashboard shows its week-over-week arrows at once. Last week's is
    read as of a week ago: its check-in figures are that week's own, the rest (kept as the
    state now, without history) today's."""
    week_ago = today - timedelta(days=7)
    if week_ago >= quarter.start:
        snapshots.headlines_snapshot(today=week_ago)
    snapshots.headlines_snapshot(today=today)
