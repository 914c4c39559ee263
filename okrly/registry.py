"""Small registries that let pages gather work from several apps without breaking the DAG.

``okrly`` sits at the bottom of the app graph and owns pages such as "Asked of me", the key
result page's panels and the team page's panels. Higher apps (dependencies, check-ins,
ownership) register functions in their ``AppConfig.ready()``; the page calls every registered
function and renders what they return. Each function costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.safestring import SafeString

from okrly.types import AuthedRequest

if TYPE_CHECKING:
    from okrly.types import User


@dataclass(frozen=True)
class Action:
    """A one-click answer: a POST to ``url`` (htmx, with a plain-form fallback)."""

    label: str
    url: str
    style: str = "primary"  # primary | secondary | contrast


@dataclass(frozen=True)
class AskedItem:
    """Something waiting on the signed-in user."""

    kind: str  # short label, e.g. "Dependency request"
    title: str
    detail: str
    link: str
    since: datetime | None = None
    due: str = ""
    actions: list[Action] = field(default_factory=list)
    # Actions that need more than a click (an answer's text, a person to redirect to): a
    # template the page includes beside the one-click actions, with ``forms`` as its context
    # (included, not pre-rendered, so that its forms get the page's CSRF token).
    forms_template: str = ""
    forms: dict[str, Any] = field(default_factory=dict)
    # A stable id for its row on the page ("dependency-12"), so a link (a nudge's) lands on it.
    anchor: str = ""


# ("User" quoted: the user model is imported for the type checker only.)
AskedProvider = Callable[["User"], list[AskedItem]]
# How many items a provider gives the user, as one scalar SQL subquery and its parameters
# (``SELECT COUNT(*) ...``, the provider's own FROM and WHERE): the navigation counts every
# provider's items with the unread count in one statement on every page.
AskedCount = Callable[["User"], tuple[str, list[Any]]]
# A count beside a navigation link (by the link's view name) for the user, as a scalar SQL
# subquery (NULL: no count for this user), read in the same statement.
NavCount = Callable[["User"], tuple[str, list[Any]]]
# A panel renders its own template to HTML for (request, object).
Panel = Callable[[HttpRequest, Any], str]

# "My week" renders the signed-in user's week (e.g. the check-in forms) from request alone.
MyWeekPanel = Callable[[AuthedRequest], str]

# A section of the team page's main column, for the quarter the page shows (None: no quarter
# is active). The page passes the quarter it already loaded, so a section costs no query for it.
TeamSection = Callable[[HttpRequest, Any, Any], str]

_asked: dict[str, tuple[AskedProvider, AskedCount]] = {}
_nav_counts: dict[str, tuple[NavCount, str]] = {}
_my_week_panels: dict[str, tuple[int, MyWeekPanel]] = {}
_my_week_fallbacks: dict[str, tuple[int, MyWeekPanel]] = {}
_team_sections: dict[str, tuple[int, TeamSection]] = {}
_key_result_panels: dict[str, tuple[int, Panel]] = {}
_team_panels: dict[str, tuple[int, Panel]] = {}


# Demo data: each app adds its own part of the demo organisation (called by seed_demo, after
# okrly/demo.py's people, teams and quarter). A seeder may return counts ("objectives": 9) for
# the command's summary line.
DemoSeeder = Callable[[date], dict[str, int] | None]
_demo_seeders: dict[str, tuple[int, DemoSeeder]] = {}


def register_demo_seeder(name: str, seeder: DemoSeeder, *, order: int = 50) -> None:
    _demo_seeders[name] = (order, seeder)


def run_demo_seeders(today: date) -> dict[str, int]:
    """Run every registered seeder in order; return the counts they report, in that order."""
    counts: dict[str, int] = {}
    for _, seeder in sorted(_demo_seeders.values(), key=lambda s: s[0]):
        counts.update(seeder(today) or {})
    return counts


def register_asked(name: str, provider: AskedProvider, count: AskedCount) -> None:
    """Register (or replace, on a second ``ready()``) an "Asked of me" provider, with the
    count of its items as SQL (the navigation's count; tested equal to ``len(provider)``)."""
    _asked[name] = (provider, count)


def asked_count_sql(user: User) -> tuple[str, list[Any]]:
    """The number of "Asked of me" items as one SQL expression: every provider's count
    subquery, added (``0`` without providers)."""
    parts = [count(user) for _, count in _asked.values()]
    if not parts:
        return "0", []
    return " + ".join(f"({part})" for part, _ in parts), [p for _, ps in parts for p in ps]


def register_nav_count(view: str, count: NavCount, *, words: str) -> None:
    """A count beside the navigation's link to ``view`` (reviews: the Dashboard's unanswered
    risks, for leaders), read out with ``words`` ("3 unanswered risks")."""
    _nav_counts[view] = (count, words)


def nav_counts() -> dict[str, tuple[NavCount, str]]:
    return dict(_nav_counts)


def register_key_result_panel(name: str, panel: Panel, *, order: int = 50) -> None:
    _key_result_panels[name] = (order, panel)


def register_my_week_panel(name: str, panel: MyWeekPanel, *, order: int = 50) -> None:
    _my_week_panels[name] = (order, panel)


def register_my_week_fallback(name: str, panel: MyWeekPanel, *, order: int = 50) -> None:
    """A My-week panel shown only while no app registers a regular one (objectives lists the
    user's key results; check-ins, when installed, replace that with the check-in forms)."""
    _my_week_fallbacks[name] = (order, panel)


def my_week_panels(request: AuthedRequest) -> list[str]:
    # The fallbacks are not even called when a regular panel exists: no query is spent on them.
    panels = _my_week_panels or _my_week_fallbacks
    return [panel(request) for _, panel in sorted(panels.values(), key=lambda p: p[0])]


# Actions on each key result card of My week from higher apps (reviews: "Escalate"), so that
# check-ins, which render the cards, import none of them. A provider takes the cards' key
# results and returns HTML by key result id, in a fixed number of queries.
CardActionProvider = Callable[[HttpRequest, list[Any]], dict[int, str]]
_my_week_card_actions: dict[str, tuple[int, CardActionProvider]] = {}


def register_my_week_card_actions(
    name: str, provider: CardActionProvider, *, order: int = 50
) -> None:
    _my_week_card_actions[name] = (order, provider)


def my_week_card_actions(request: HttpRequest, key_results: list[Any]) -> dict[int, str]:
    """HTML actions by key result id, from every provider in order (none: an empty dict)."""
    merged: dict[int, str] = {}
    if not key_results:
        return merged
    for _, provider in sorted(_my_week_card_actions.values(), key=lambda p: p[0]):
        for pk, html in provider(request, key_results).items():
            merged[pk] = SafeString(merged.get(pk, SafeString()) + html)
    return merged


# Badges on key results in lists: one provider renders badges for many key results at once.
BadgeProvider = Callable[[HttpRequest, list[Any]], dict[int, str]]
_badges: dict[str, BadgeProvider] = {}


def register_key_result_badges(name: str, provider: BadgeProvider) -> None:
    _badges[name] = provider


def key_result_badges(request: HttpRequest, key_results: list[Any]) -> dict[int, str]:
    """HTML badges by key result id, from every provider, in a fixed number of queries."""
    merged: dict[int, str] = {}
    for provider in _badges.values():
        for pk, html in provider(request, key_results).items():
            # Both sides are rendered templates (safe); keep the sum marked safe too.
            merged[pk] = SafeString(merged.get(pk, SafeString()) + html)
    return merged


def register_team_panel(name: str, panel: Panel, *, order: int = 50) -> None:
    """A panel below the team page's objectives and people."""
    _team_panels[name] = (order, panel)


def register_team_section(name: str, section: TeamSection, *, order: int = 50) -> None:
    """A section of the team page's main column, beside the team's people."""
    _team_sections[name] = (order, section)


def team_sections(request: HttpRequest, team: Any, quarter: Any) -> list[str]:
    return [
        section(request, team, quarter)
        for _, section in sorted(_team_sections.values(), key=lambda s: s[0])
    ]


def asked_of(user: User) -> list[AskedItem]:
    items: list[AskedItem] = []
    for provider, _ in _asked.values():
        items.extend(provider(user))
    # Oldest first: what has waited longest is most overdue for an answer.
    return sorted(items, key=lambda i: (i.since is None, i.since or datetime.min))


def _render(panels: dict[str, tuple[int, Panel]], request: HttpRequest, obj: Any) -> list[str]:
    return [panel(request, obj) for _, panel in sorted(panels.values(), key=lambda p: p[0])]


def key_result_panels(request: HttpRequest, key_result: Any) -> list[str]:
    return _render(_key_result_panels, request, key_result)


def team_panels(request: HttpRequest, team: Any) -> list[str]:
    return _render(_team_panels, request, team)


# Sections of the dependency page from higher apps (reviews: the response to its miss).
_dependency_panels: dict[str, tuple[int, Panel]] = {}


def register_dependency_panel(name: str, panel: Panel, *, order: int = 50) -> None:
    _dependency_panels[name] = (order, panel)


def dependency_panels(request: HttpRequest, dependency: Any) -> list[str]:
    return _render(_dependency_panels, request, dependency)


# The definition group of an objective (objectives.definitions): higher apps add the teams
# whose leads must read the definition too (dependencies: every team a dependency of its key
# results is asked of). A contributor takes objective ids and returns team ids by objective id,
# in one query however many objectives a page shows.
DefinitionTeams = Callable[[list[int]], dict[int, set[int]]]
_definition_teams: dict[str, DefinitionTeams] = {}


def register_definition_teams(name: str, contributor: DefinitionTeams) -> None:
    _definition_teams[name] = contributor


def definition_teams(objective_ids: list[int]) -> dict[int, set[int]]:
    merged: dict[int, set[int]] = {}
    for contributor in _definition_teams.values():
        for pk, team_ids in contributor(objective_ids).items():
            merged.setdefault(pk, set()).update(team_ids)
    return merged


# Trade-offs (objectives.tradeoffs): the other teams tied to key results a trade-off would
# displace (dependencies: teams asked for something by them that is still open). Takes key
# result ids and returns team ids by key result id, in one query.
DependentTeams = Callable[[list[int]], dict[int, set[int]]]
_dependent_teams: dict[str, DependentTeams] = {}


def register_dependent_teams(name: str, contributor: DependentTeams) -> None:
    _dependent_teams[name] = contributor


def dependent_teams(key_result_ids: list[int]) -> dict[int, set[int]]:
    merged: dict[int, set[int]] = {}
    for contributor in _dependent_teams.values():
        for pk, team_ids in contributor(key_result_ids).items():
            merged.setdefault(pk, set()).update(team_ids)
    return merged


# The key results' materialised status (ownership.status, issue 14). Model signals keep it
# for ordinary saves; a bulk ``update()`` sends none, so the code that runs one names the key
# results it changed here, in the same transaction (objectives' trade-offs, for instance).
KeyResultsChanged = Callable[[list[int]], None]
_key_results_changed: dict[str, KeyResultsChanged] = {}


def register_key_results_changed(name: str, listener: KeyResultsChanged) -> None:
    _key_results_changed[name] = listener


def key_results_changed(key_result_ids: list[int]) -> None:
    for listener in _key_results_changed.values():
        listener(key_result_ids)


# Within ``key_results_batched()``, the key results a service's several saves change are
# collected (``defer_key_results``) and reported once, at the end: a check-in saves its row
# twice and its key result once, and each save rewrote the status and team figures.
_batched: ContextVar[set[int] | None] = ContextVar("okrly_key_results_batched", default=None)


@contextmanager
def key_results_batched() -> Iterator[None]:
    """Collect the key results changed inside, and report them to ``key_results_changed``
    once when the block ends without an error (inside the service's transaction: both
    commit together). Nested blocks report with the outermost."""
    if _batched.get() is not None:
        yield
        return
    pending: set[int] = set()
    token = _batched.set(pending)
    try:
        yield
    finally:
        _batched.reset(token)
    if pending:
        key_results_changed(sorted(pending))


def defer_key_results(key_result_ids: Iterable[int]) -> bool:
    """Inside ``key_results_batched()``: keep these for its end and say so (True); outside
    it, False, and the caller writes at once."""
    pending = _batched.get()
    if pending is None:
        return False
    pending.update(key_result_ids)
    return True


# Check-in prompts sent (checkins' prompt job, which writes them in bulk): the owners' key
# results' dashboard figures count a prompted owner's missing check-in (ownership keeps them),
# in the same transaction as the prompts.
PromptsSent = Callable[[int, int, list[int]], None]
_prompts_sent: dict[str, PromptsSent] = {}


def register_prompts_sent(name: str, listener: PromptsSent) -> None:
    _prompts_sent[name] = listener


def prompts_sent(quarter_id: int, week: int, owner_ids: list[int]) -> None:
    for listener in _prompts_sent.values():
        listener(quarter_id, week, owner_ids)


# A notification's e-mail can list links of its own (the prompt: a signed link per key result;
# the leaders' digest: one per item). The app that writes a kind of notification registers
# the context for it; the outbox asks once per kind in a batch, so a batch costs a fixed
# number of queries whatever its size. ``items``: a list of (label, path) pairs.
EmailContext = Callable[[list[Any]], dict[int, dict[str, Any]]]
_email_contexts: dict[str, EmailContext] = {}


def register_email_context(kind: str, provider: EmailContext) -> None:
    _email_contexts[kind] = provider


def email_contexts(notifications: list[Any]) -> dict[int, dict[str, Any]]:
    by_kind: dict[str, list[Any]] = {}
    for notification in notifications:
        if notification.kind in _email_contexts:
            by_kind.setdefault(notification.kind, []).append(notification)
    found: dict[int, dict[str, Any]] = {}
    for kind, batch in by_kind.items():
        found.update(_email_contexts[kind](batch))
    return found


# Missed commitments (rule 10): the service or job that detects a miss reports it here, in its
# own transaction; reviews registers the handler that opens the response (one per kind,
# subject and quarter, so a report made twice opens one). Lower apps name the kind by these
# strings (reviews.models.MissResponse.Kind's values) rather than import reviews.
MISS_DEPENDENCY_BROKEN = "dep_broken"
MISS_DEPENDENCY_UNDELIVERED = "dep_late"
MISS_KEY_RESULT = "kr_missed"
MISS_CHECKINS = "checkins"
MissHandler = Callable[..., Any]
_miss_handlers: dict[str, MissHandler] = {}


def register_miss_handler(name: str, handler: MissHandler) -> None:
    """``handler(kind=..., key_result=..., quarter=..., dependency=...)``."""
    _miss_handlers[name] = handler


def report_miss(*, kind: str, key_result: Any, quarter: Any = None, dependency: Any = None) -> None:
    """Tell every handler about a miss (none installed: nothing happens). ``quarter`` defaults
    to the key result's objective's quarter."""
    if quarter is None:
        quarter = key_result.objective.quarter
    for handler in _miss_handlers.values():
        handler(kind=kind, key_result=key_result, quarter=quarter, dependency=dependency)


# --- closing a quarter (rule 11) ---------------------------------------------------------------
# A quarter is closed by closing its organisation's review (reviews.review_services), which
# needs a structural decision; the admin, which cannot import reviews, asks these guards.
QuarterCloseGuard = Callable[[Any], "str | None"]
_quarter_close_guards: dict[str, QuarterCloseGuard] = {}


def register_quarter_close_guard(name: str, guard: QuarterCloseGuard) -> None:
    """``guard(quarter)`` returns why the quarter may not be closed by hand, or None."""
    _quarter_close_guards[name] = guard


def quarter_close_refusal(quarter: Any) -> str | None:
    for guard in _quarter_close_guards.values():
        message = guard(quarter)
        if message:
            return message
    return None


# --- starting a quarter's review from the set-up page (issue 16) ------------------------------
# One quarter is active at a time; activating the next one while another is active offers to
# start the other's review, which the reviews app does (grades, notifications), not okrly.
ReviewStarter = Callable[[Any], bool]
_review_starter: list[ReviewStarter] = []


def register_review_starter(starter: ReviewStarter) -> None:
    """``starter(quarter)`` moves an active quarter to its review; False when it was not active."""
    _review_starter[:] = [starter]


def can_start_reviews() -> bool:
    return bool(_review_starter)


def start_review(quarter: Any) -> bool:
    return bool(_review_starter) and _review_starter[0](quarter)
