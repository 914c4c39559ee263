"""Who may do what: every "may this person do this" of the product, in one module.

Services enforce these predicates (they raise ``NotAllowed`` when one says no); views, the API
(through the services it calls) and templates ask the same predicate, so a page offers an
action only where the service will accept it.

This module sits at the bottom of the app graph and imports no feature app: a predicate about
a key result, a dependency or a check-in takes the facts it needs (an owner's id, a team, the
id of the person responsible) rather than the feature's model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from okrly.errors import NotAllowed
from okrly.models import Membership, Profile, Team

if TYPE_CHECKING:
    from okrly.types import AnonymousUser, User

    # Who a predicate is asked about: a request's user may be signed out.
    Person = User | AnonymousUser

LEAD = Membership.Role.LEAD


# --- who someone is ----------------------------------------------------------------------------


def can_sign_in_with_password(user: Person) -> bool:
    """The password form is for everyone, or (``PASSWORD_SIGN_IN=staff``, with single sign-on
    on) for staff only: everyone else signs in through the provider."""
    return settings.PASSWORD_SIGN_IN == "all" or bool(user.is_staff)


def leadership_group_name() -> str:
    return str(settings.LEADERSHIP_GROUP)


def is_leadership(user: Person) -> bool:
    if not user.is_authenticated:
        return False
    # groups are prefetched on request.user by nothing; one small query when asked.
    return bool(user.groups.filter(name=leadership_group_name()).exists())


def can_set_up(user: Person) -> bool:
    """Staff set the organisation up (/setup/): quarters, teams, people, channels."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def leads_team(user: Person, team: Team) -> bool:
    """The team's named lead, or a member with the lead role."""
    if not user.is_authenticated:
        return False
    if team.lead_id == user.pk:
        return True
    return bool(team.memberships.filter(user=user, role=LEAD).exists())


def is_team_member(user: User, team: Team) -> bool:
    return bool(team.lead_id == user.pk or team.memberships.filter(user=user).exists())


def is_owner(user: Person, *, owner_id: int | None) -> bool:
    """The key result's one accountable owner, who alone acts for it: checks in, requests its
    dependencies, confirms, reopens or breaks what was delivered to it, declares it needs no
    other team."""
    return bool(user.is_authenticated and user.pk == owner_id)


def teams_led_by(user: Person) -> QuerySet[Team]:
    """The teams ``user`` may add objectives to: every team for staff, else the ones they lead."""
    if not user.is_authenticated:
        return Team.objects.none()
    if user.is_staff:
        return Team.objects.all()
    return Team.objects.filter(
        Q(lead=user) | Q(memberships__user=user, memberships__role=LEAD)
    ).distinct()


def team_leads(team: Team) -> list[User]:
    """The team's named lead and every member with the lead role (one query)."""
    return list(
        get_user_model()
        .objects.filter(Q(led_teams=team) | Q(memberships__team=team, memberships__role=LEAD))
        .filter(is_active=True)
        .distinct()
    )


def leadership_members() -> list[User]:
    return list(
        get_user_model().objects.filter(groups__name=leadership_group_name(), is_active=True)
    )


def leadership_teams() -> QuerySet[Team]:
    """The leadership team: the leadership group as a team of the org chart.

    LEADERSHIP_GROUP names a group of people, not a team, so the team is recognised by who is
    on it: a top-level team (no parent) whose lead and every member are in that group (the
    demo's "Leadership"). A top-level department led by an executive is not it, because its
    members are not all leadership. Company-wide objectives are this team's objectives.
    """
    outsiders = get_user_model().objects.exclude(groups__name=leadership_group_name())
    return (
        Team.objects.filter(parent=None, lead__groups__name=leadership_group_name())
        .exclude(memberships__user__in=outsiders)
        .distinct()
    )


@dataclass(frozen=True)
class PeopleLed:
    """The people a user leads (see ``can_lead``), asked once per page: ``person_id in led``."""

    everyone_but: int | None = None  # leadership leads everyone except themselves
    ids: frozenset[int] = frozenset()

    def __contains__(self, person_id: object) -> bool:
        if self.everyone_but is not None:
            return person_id != self.everyone_but
        return person_id in self.ids


def people_led_by(user: Person) -> PeopleLed:
    """Everyone ``user`` may nudge and reply to: the people they manage, the members of every
    team they lead, or everyone when they are in the leadership group; never themselves.

    Two queries at most, whatever the page shows, so a list can ask it of every row.
    """
    if not user.is_authenticated:
        return PeopleLed()
    if is_leadership(user):
        return PeopleLed(everyone_but=user.pk)
    led_teams = Team.objects.filter(
        Q(lead=user) | Q(memberships__user=user, memberships__role=LEAD)
    ).values("pk")
    ids = set(
        Membership.objects.filter(team__in=led_teams).values_list("user_id", flat=True)
    ).union(Profile.objects.filter(manager=user).values_list("user_id", flat=True))
    ids.discard(user.pk)
    return PeopleLed(ids=frozenset(ids))


def leads_someone_sql(user: User) -> tuple[str, list[object]]:
    """Whether ``user`` leads anyone (``people_led_by``'s rule: the leadership group, a team's
    lead, someone's manager) as one SQL condition and its parameters, for a statement that
    reads more (the navigation's counts). A lead of a team with no one else on it counts."""
    from django.contrib.auth.models import Group

    from okrly import sql

    groups = sql.table(get_user_model().groups.through)
    return (
        f"(EXISTS (SELECT 1 FROM {groups} ug JOIN {sql.table(Group)} g ON g.id = ug.group_id "
        "WHERE ug.user_id = %s AND g.name = %s) "
        f"OR EXISTS (SELECT 1 FROM {sql.table(Membership)} m "
        "WHERE m.user_id = %s AND m.role = %s) "
        f"OR EXISTS (SELECT 1 FROM {sql.table(Profile)} p WHERE p.manager_id = %s))",
        [user.pk, leadership_group_name(), user.pk, LEAD.value, user.pk],
    )


# --- leading people: nudges and replies to check-ins --------------------------------------------


def can_lead(user: Person, person: User) -> bool:
    """A leader for this person: their manager, a lead of one of their teams, or leadership.

    The services that nudge and reply enforce it; pages ask ``people_led_by`` (the same rule)
    to offer those actions only where they will be accepted.
    """
    return person.pk in people_led_by(user)


# --- objectives and key results ----------------------------------------------------------------


def can_manage_objectives(user: Person, team: Team) -> bool:
    """Team leads (and staff, who configure the organisation) create and edit objectives."""
    return bool(user.is_authenticated and (user.is_staff or leads_team(user, team)))


def require_manage_objectives(user: Person, team: Team) -> None:
    if not can_manage_objectives(user, team):
        raise NotAllowed(
            f"Only a lead of {team.name} (or an administrator) can change its objectives and "
            "key results."
        )


def can_acknowledge_definition(user: Person, *, group_ids: frozenset[int] | set[int]) -> bool:
    """An objective's definition is acknowledged by the members of its definition group
    (objectives.definitions.definition_group), each for themselves; nobody else, not staff."""
    return bool(user.is_authenticated and user.pk in group_ids)


def can_challenge_reading(
    user: Person, *, group_ids: frozenset[int] | set[int], reader_id: int
) -> bool:
    """A member of the definition group may say another member's reading "is not what we
    meant"; not their own reading (they would acknowledge again), and nobody outside the group."""
    return bool(user.is_authenticated and user.pk in group_ids and user.pk != reader_id)


def can_reply_to_challenge(
    user: Person, *, group_ids: frozenset[int] | set[int], reader_id: int, challenger_id: int
) -> bool:
    """A challenge's thread is answered by the definition group, by the leader whose reading
    was challenged and by whoever opened it, even once either has left the group (their
    team stopped depending on the objective): it is their conversation."""
    return bool(user.is_authenticated and user.pk in {*group_ids, reader_id, challenger_id})


def can_decide_trade_off(user: Person, team: Team) -> bool:
    """A trade-off (rule 8) is decided by a lead of the team or by the leadership group; not by
    staff as such: an administrator configures the organisation, not its priorities."""
    return bool(user.is_authenticated and (leads_team(user, team) or is_leadership(user)))


def can_approve_trade_off(user: Person) -> bool:
    """Leadership approves a trade-off that displaces work another team depends on."""
    return is_leadership(user)


def teams_deciding_trade_offs(user: Person) -> QuerySet[Team]:
    """The teams whose trade-offs ``user`` may decide (can_decide_trade_off as a list): every
    team for leadership, else the ones they lead; staff as such, none."""
    if not user.is_authenticated:
        return Team.objects.none()
    if is_leadership(user):
        return Team.objects.all()
    return Team.objects.filter(
        Q(lead=user) | Q(memberships__user=user, memberships__role=LEAD)
    ).distinct()


# --- ownership ---------------------------------------------------------------------------------


def can_answer_ownership(
    user: Person, *, owner_id: int, nominee_id: int | None, accepted: bool
) -> bool:
    """Who answers "will you own this key result?": the person a pending handover names; with
    none pending, the owner on record until they have accepted."""
    if not user.is_authenticated:
        return False
    if nominee_id is not None:
        return nominee_id == user.pk
    return owner_id == user.pk and not accepted


def can_nominate(user: Person, team: Team) -> bool:
    """A lead of the key result's team (or staff) nominates its owner and hands it over."""
    return bool(user.is_authenticated and (user.is_staff or leads_team(user, team)))


def can_grant(user: Person, *, owner_id: int, manager_id: int | None, team: Team) -> bool:
    """Authority is granted (and revoked) by the owner's manager, a lead of the key result's
    team, or the leadership group; never by the owner themselves."""
    if not user.is_authenticated or user.pk == owner_id:
        return False
    return bool(manager_id == user.pk or leads_team(user, team) or is_leadership(user))


# --- dependencies ------------------------------------------------------------------------------


def can_answer_dependency(user: Person, *, awaiting_id: int | None) -> bool:
    """A request or a counter-proposal is answered (committed, countered, declined, accepted)
    by the one person it is waiting on."""
    return bool(user.is_authenticated and awaiting_id is not None and user.pk == awaiting_id)


def is_responsible(user: Person, *, responsible_id: int) -> bool:
    """The named person on the providing team: alone commits to, declines and delivers what
    is asked of them; nobody does it on their behalf."""
    return bool(user.is_authenticated and user.pk == responsible_id)


def can_accept_counter(user: Person, *, owner_id: int, awaiting_id: int | None) -> bool:
    """The key result's owner accepts a counter-proposal made to them."""
    return is_owner(user, owner_id=owner_id) and can_answer_dependency(
        user, awaiting_id=awaiting_id
    )


def can_flag_dependency_risk(user: Person, *, owner_id: int, responsible_id: int) -> bool:
    """Either side of a promise may say it is at risk."""
    return is_owner(user, owner_id=owner_id) or is_responsible(user, responsible_id=responsible_id)


def can_reassign_dependency(user: Person, provider_team: Team) -> bool:
    """A lead of the providing team hands the work to someone else on the team."""
    return leads_team(user, provider_team)


# --- early escalation --------------------------------------------------------------------------


def can_raise_escalation(user: Person, *, owner_id: int | None, team: Team) -> bool:
    """A key result's owner, or anyone on its team, raises an early escalation for it (rule 7:
    raising one early is expected and safe, not only the owner's job)."""
    if not user.is_authenticated:
        return False
    return is_owner(user, owner_id=owner_id) or is_team_member(user, team)


def can_answer_escalation(user: Person, *, asked_of_id: int, is_open: bool) -> bool:
    """An open early escalation is answered (decided, helping) or redirected by the one person
    it is currently asked of; nobody answers on their behalf (the ladder tells their lead)."""
    return bool(is_open and user.is_authenticated and user.pk == asked_of_id)


# --- check-ins and notifications ---------------------------------------------------------------


def can_handle_need(user: Person, *, need_person_id: int | None) -> bool:
    """A need named in a check-in is marked handled by the person it is addressed to."""
    return bool(user.is_authenticated and need_person_id is not None and user.pk == need_person_id)


def can_read_notification(user: Person, *, recipient_id: int) -> bool:
    return bool(user.is_authenticated and user.pk == recipient_id)


# --- responses to missed commitments (rule 10) -------------------------------------------------


def can_record_response(user: Person, *, accountable_id: int, holder_id: int | None) -> bool:
    """A response (the conversation, the gap, the next step) is recorded by the person who
    answers for the miss, the one who holds the conversation with them, or leadership."""
    if not user.is_authenticated:
        return False
    return bool(user.pk in (accountable_id, holder_id) or is_leadership(user))


def can_close_next_step(user: Person, *, owner_id: int, holder_id: int | None) -> bool:
    """A response's next step is marked done by its owner, the one who held the conversation,
    or leadership."""
    if not user.is_authenticated:
        return False
    return bool(user.pk in (owner_id, holder_id) or is_leadership(user))


# --- quarterly reviews (rule 11) ---------------------------------------------------------------


def can_run_review(user: Person, team: Team | None) -> bool:
    """The organisation's review is run by leadership; a department's or team's review by the
    team's leads or leadership. Running it means adding factors and decisions, following up
    last quarter's decisions and closing it."""
    if not user.is_authenticated:
        return False
    if team is not None and leads_team(user, team):
        return True
    return is_leadership(user)


def can_read_review(user: Person) -> bool:
    """Every signed-in person reads every review: what the organisation decided to change is
    nobody's secret."""
    return bool(user.is_authenticated)


def can_start_review(user: Person) -> bool:
    """Leadership starts a quarter's review before its last day (the beat job does it then)."""
    return is_leadership(user)


def can_grade(user: Person, *, owner_id: int | None, reviewing: bool) -> bool:
    """A key result's owner grades it, and only while its quarter is reviewing."""
    return reviewing and is_owner(user, owner_id=owner_id)


def can_configure_channels(user: Person) -> bool:
    """Staff set the teams' Slack and Teams webhooks (/setup/channels/): a webhook URL lets
    whoever holds it post into a channel, so it is an administrator's setting."""
    return can_set_up(user)


def require_configure_channels(user: Person) -> None:
    if not can_configure_channels(user):
        raise NotAllowed("Only administrators (staff) set up Slack and Teams channels.")


# --- setting up people (issue 16) --------------------------------------------------------------


def can_set_up_people(user: Person) -> bool:
    """Importing people and inviting them is organisation set-up: staff only."""
    return can_set_up(user)


def can_invite(user: Person) -> bool:
    """Invite, resend and revoke: the same administrators who import people."""
    return can_set_up_people(user)
