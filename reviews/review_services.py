"""The quarterly review (rule 11): contributing factors, structural decisions, the follow-up of
last quarter's decisions, and the close.

A review belongs to a quarter and a scope: the organisation (no team, exactly one per quarter,
run by leadership) or a department or team (optional, run by its leads or leadership).

Closing rules (checked here, in one transaction with the review and its quarter locked, so the
page, the API and the admin all obey the same ones):

* at least one structural decision (``structural_decision_required``);
* every decision to follow up (below) is marked (``follow_up_required``);
* the organisation's review closes the quarter (only from *reviewing*) and opens the responses
  to the key results that ended it missed.

**Decisions to follow up** in a review are the decisions of the previous quarter's review of
the same scope, plus the decisions that review marked *not done* (a decision not done is still
owed, so it is asked about once more). A decision marked *not done* in two consecutive reviews
is a missed commitment: it opens a response (``MissResponse.Kind.DECISION_NOT_DONE``,
subject ``decision:<id>``, answered by the decision's owner) and is not carried further — the
response takes it from there.

A decision that changes a setting is applied when its quarter starts (``decisions_apply_due``,
a beat job): the ``OrgSetting`` row (or the team's objective limit) is written and the change
logged in ``SettingChange``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from okrly.access import can_run_review
from okrly.errors import NotAllowed, RuleBroken
from okrly.models import OrgSetting, Quarter, Team
from okrly.orgsettings import ADJUSTABLE
from okrly.orgsettings import value as setting_value_of
from reviews.models import (
    ContributingFactor,
    DecisionFollowUp,
    MissResponse,
    Review,
    SettingChange,
    StructuralDecision,
)

if TYPE_CHECKING:
    from dependencies.models import Dependency
    from objectives.models import KeyResult, TradeOff
    from okrly.types import User

TEAM_OBJECTIVE_LIMIT = "TEAM_OBJECTIVE_LIMIT"
# The bounds of a team's own objective limit: the organisation's default's.
_TEAM_LIMIT_BOUNDS = ADJUSTABLE["OBJECTIVE_LIMIT_DEFAULT"]

NO_DECISION_MESSAGE = (
    "A review cannot close without at least one structural decision: what changes in how "
    "the organisation operates, not a new goal."
)


def setting_choices() -> list[tuple[str, str]]:
    """The settings a decision may change, for forms: (name, label)."""
    choices = [(name, label) for name, (label, _low, _high) in ADJUSTABLE.items()]
    choices.append((TEAM_OBJECTIVE_LIMIT, "A team's objective limit"))
    return choices


# --- finding reviews ----------------------------------------------------------------------------


def review_for(quarter: Quarter, team: Team | None = None) -> Review:
    """The quarter's review for ``team`` (None: the organisation's), created on first use. The
    organisation's review exists from the moment the quarter starts reviewing."""
    existing = Review.objects.filter(quarter=quarter, team=team).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Review.objects.create(quarter=quarter, team=team)
    except IntegrityError:
        # A concurrent first use created it (the database keeps one per scope).
        return Review.objects.get(quarter=quarter, team=team)


def previous_quarter(quarter: Quarter) -> Quarter | None:
    return Quarter.objects.filter(end__lt=quarter.start).order_by("-start").first()


def previous_review(review: Review) -> Review | None:
    """The previous quarter's review of the same scope, if there was one."""
    before = previous_quarter(review.quarter)
    if before is None:
        return None
    return Review.objects.filter(quarter=before, team=review.team).first()


def decisions_to_follow_up(review: Review) -> QuerySet[StructuralDecision]:
    """The decisions this review must mark (module docstring): the previous review's, plus
    those it marked not done."""
    before = previous_review(review)
    if before is None:
        return StructuralDecision.objects.none()
    # Not done for the first time in the previous review: asked about once more. A decision
    # followed up before that (not done twice: its response took over) is not carried again.
    followed_earlier = DecisionFollowUp.objects.filter(
        review__quarter__start__lt=before.quarter.start
    ).values("decision_id")
    carried = (
        DecisionFollowUp.objects.filter(review=before, verdict=DecisionFollowUp.Verdict.NOT_DONE)
        .exclude(decision_id__in=followed_earlier)
        .values("decision_id")
    )
    return (
        StructuralDecision.objects.filter(Q(review=before) | Q(pk__in=carried))
        .select_related("owner", "takes_effect", "review__quarter")
        .order_by("review__quarter__start", "created_at", "pk")
    )


def unmarked_decisions(review: Review) -> list[StructuralDecision]:
    marked = DecisionFollowUp.objects.filter(review=review).values("decision_id")
    return list(decisions_to_follow_up(review).exclude(pk__in=marked))


def decisions_in_force(quarter: Quarter) -> QuerySet[StructuralDecision]:
    """The structural decisions that take effect in ``quarter`` (for its dashboard), each with
    its owner, review and follow-up date, soonest follow-up first."""
    return (
        StructuralDecision.objects.filter(takes_effect=quarter)
        .select_related("owner", "review__quarter", "review__team")
        # What the dashboard prints, no more: it runs this on every request, and the ORM's
        # cost grows with the columns it reads.
        .only(
            "what_changes",
            "success_check",
            "follow_up_on",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            "review__quarter__name",
            "review__team__name",
        )
        .order_by("follow_up_on", "pk")
    )


def review_detail(review_id: int) -> Review:
    """A review with its factors, decisions and follow-ups loaded (a fixed number of queries)."""
    return (
        Review.objects.select_related("quarter", "team", "closed_by")
        .prefetch_related(
            Prefetch(
                "factors",
                queryset=ContributingFactor.objects.select_related(
                    "author", "key_result", "dependency", "trade_off", "response"
                ),
            ),
            Prefetch(
                "decisions",
                queryset=StructuralDecision.objects.select_related(
                    "owner",
                    "takes_effect",
                    "setting_team",
                    "key_result",
                    "dependency",
                    "trade_off",
                    "response",
                ),
            ),
            Prefetch(
                "follow_ups",
                queryset=DecisionFollowUp.objects.select_related("decision", "by"),
            ),
        )
        .get(pk=review_id)
    )


# --- checks -------------------------------------------------------------------------------------


def _require_runner(user: User, review: Review) -> None:
    if not can_run_review(user, review.team):
        if review.team is None:
            raise NotAllowed("Only leadership runs the organisation's review.")
        raise NotAllowed(f"Only the leads of {review.team.name} or leadership run this review.")


def _require_open(review: Review) -> None:
    if review.status != Review.Status.OPEN:
        raise RuleBroken("This review is closed.")


def _lock_open(review: Review) -> None:
    """Lock the review row (a concurrent close waits, or wins and this refuses): nothing is
    added to a closed review. Unordered: the default ordering's outer join cannot be locked."""
    status = (
        Review.objects.select_for_update()
        .filter(pk=review.pk)
        .order_by()
        .values_list("status", flat=True)
        .first()
    )
    if status != Review.Status.OPEN:
        raise RuleBroken("This review is closed.")


def _evidence_count(*links: object) -> int:
    return sum(1 for link in links if link is not None)


def _require_evidence(
    key_result: KeyResult | None,
    dependency: Dependency | None,
    trade_off: TradeOff | None,
    response: MissResponse | None,
    *,
    field: str,
) -> None:
    if _evidence_count(key_result, dependency, trade_off, response) == 0:
        raise RuleBroken(
            "Link it to evidence: a key result, a dependency, a trade-off or a response.",
            field=field,
        )


def _evidence_in_quarter(
    review: Review,
    key_result: KeyResult | None,
    dependency: Dependency | None,
    trade_off: TradeOff | None,
    response: MissResponse | None,
) -> None:
    """Evidence is the reviewed quarter's: a key result of another quarter proves nothing
    about this one."""
    quarter_id = review.quarter_id
    if key_result is not None and key_result.objective.quarter_id != quarter_id:
        raise RuleBroken("That key result is not from the reviewed quarter.", field="key_result")
    if dependency is not None and dependency.key_result.objective.quarter_id != quarter_id:
        raise RuleBroken("That dependency is not from the reviewed quarter.", field="dependency")
    if trade_off is not None and trade_off.quarter_id != quarter_id:
        raise RuleBroken("That trade-off is not from the reviewed quarter.", field="trade_off")
    if response is not None and response.quarter_id != quarter_id:
        raise RuleBroken("That response is not from the reviewed quarter.", field="response")


# --- contributing factors -----------------------------------------------------------------------


def factor_add(
    *,
    user: User,
    review: Review,
    text: str,
    key_result: KeyResult | None = None,
    dependency: Dependency | None = None,
    trade_off: TradeOff | None = None,
    response: MissResponse | None = None,
) -> ContributingFactor:
    """Add a contributing factor: why the quarter went as it did, linked to evidence."""
    _require_runner(user, review)
    _require_open(review)
    text = (text or "").strip()
    if not text:
        raise RuleBroken("Say what contributed.", field="text")
    _require_evidence(key_result, dependency, trade_off, response, field="key_result")
    _evidence_in_quarter(review, key_result, dependency, trade_off, response)
    with transaction.atomic():
        _lock_open(review)
        return ContributingFactor.objects.create(
            review=review,
            text=text,
            author=user,
            key_result=key_result,
            dependency=dependency,
            trade_off=trade_off,
            response=response,
        )


# --- structural decisions -----------------------------------------------------------------------


def _check_setting(
    review: Review, setting: str, setting_team: Team | None, setting_value: int | None
) -> tuple[str, Team | None, int | None]:
    setting = (setting or "").strip()
    if not setting:
        if setting_team is not None or setting_value is not None:
            raise RuleBroken("Choose the setting the value is for.", field="setting")
        return "", None, None
    if setting == TEAM_OBJECTIVE_LIMIT:
        if setting_team is None:
            raise RuleBroken("Choose the team whose objective limit changes.", field="setting_team")
        low, high = _TEAM_LIMIT_BOUNDS[1], _TEAM_LIMIT_BOUNDS[2]
    elif setting in ADJUSTABLE:
        if setting_team is not None:
            raise RuleBroken(
                "This setting is the organisation's, not a team's: leave the team empty.",
                field="setting_team",
            )
        if review.team is not None:
            # A team's review changes its own team, never the whole organisation's rules.
            raise RuleBroken(
                "A team's review may change only its own objective limit.", field="setting"
            )
        low, high = ADJUSTABLE[setting][1], ADJUSTABLE[setting][2]
    else:
        raise RuleBroken("That setting cannot be changed by a decision.", field="setting")
    if review.team is not None and setting_team is not None and setting_team.pk != review.team_id:
        raise RuleBroken(
            f"A review of {review.team.name} may change only its own objective limit.",
            field="setting_team",
        )
    if setting_value is None or not low <= setting_value <= high:
        raise RuleBroken(f"The new value must be between {low} and {high}.", field="setting_value")
    return setting, setting_team, setting_value


def decision_add(
    *,
    user: User,
    review: Review,
    what_changes: str,
    why: str,
    owner: User,
    takes_effect: Quarter,
    success_check: str,
    follow_up_on: date,
    key_result: KeyResult | None = None,
    dependency: Dependency | None = None,
    trade_off: TradeOff | None = None,
    response: MissResponse | None = None,
    setting: str = "",
    setting_team: Team | None = None,
    setting_value: int | None = None,
) -> StructuralDecision:
    """Record a structural decision: what changes in how the organisation operates (not a new
    goal), why (linked to evidence), its owner, the quarter it takes effect in, how we will
    know it worked (checked on ``follow_up_on``), and optionally a setting it changes."""
    _require_runner(user, review)
    _require_open(review)
    what_changes = (what_changes or "").strip()
    if not what_changes:
        raise RuleBroken("Say what changes in how we operate.", field="what_changes")
    why = (why or "").strip()
    if not why:
        raise RuleBroken("Say why, with the evidence behind it.", field="why")
    _require_evidence(key_result, dependency, trade_off, response, field="key_result")
    _evidence_in_quarter(review, key_result, dependency, trade_off, response)
    if owner is None or not owner.is_active:
        raise RuleBroken("The decision needs an active owner.", field="owner")
    if takes_effect is None or takes_effect.start <= review.quarter.end:
        raise RuleBroken(
            "A decision takes effect in a quarter that starts after the reviewed one.",
            field="takes_effect",
        )
    success_check = (success_check or "").strip()
    if not success_check:
        raise RuleBroken(
            "Say how we will know it worked: something anyone can observe.", field="success_check"
        )
    if follow_up_on is None or not takes_effect.start <= follow_up_on <= takes_effect.end:
        raise RuleBroken(
            f"The follow-up date falls in {takes_effect.name} "
            f"({takes_effect.start:%d %b %Y} – {takes_effect.end:%d %b %Y}).",
            field="follow_up_on",
        )
    setting, setting_team, setting_value = _check_setting(
        review, setting, setting_team, setting_value
    )
    with transaction.atomic():
        _lock_open(review)
        return StructuralDecision.objects.create(
            review=review,
            what_changes=what_changes,
            why=why,
            owner=owner,
            takes_effect=takes_effect,
            success_check=success_check,
            follow_up_on=follow_up_on,
            key_result=key_result,
            dependency=dependency,
            trade_off=trade_off,
            response=response,
            setting=setting,
            setting_team=setting_team,
            setting_value=setting_value,
            created_by=user,
        )


# --- follow-up ----------------------------------------------------------------------------------


def follow_up_mark(
    *,
    user: User,
    review: Review,
    decision: StructuralDecision,
    verdict: str,
    note: str,
) -> DecisionFollowUp:
    """Mark one of the decisions to follow up (module docstring): done and working, done but
    not working, or not done, with a note. Re-marking while the review is open corrects the
    verdict. Not done twice in a row opens a response (a missed commitment)."""
    _require_runner(user, review)
    if verdict not in DecisionFollowUp.Verdict.values:
        raise RuleBroken(
            "Choose done and working, done but not working, or not done.", field="verdict"
        )
    note = (note or "").strip()
    if not note:
        raise RuleBroken("Add a note: what happened with it.", field="note")
    with transaction.atomic():
        locked = Review.objects.select_for_update().get(pk=review.pk)
        _require_open(locked)
        if not decisions_to_follow_up(locked).filter(pk=decision.pk).exists():
            raise RuleBroken(
                "Only last quarter's decisions of the same review are followed up here.",
                field="decision",
            )
        follow_up, _created = DecisionFollowUp.objects.update_or_create(
            decision=decision,
            review=locked,
            defaults={"verdict": verdict, "note": note, "by": user, "at": timezone.now()},
        )
        if verdict == DecisionFollowUp.Verdict.NOT_DONE and _not_done_before(locked, decision):
            _open_decision_response(decision, locked.quarter)
    return follow_up


def _not_done_before(review: Review, decision: StructuralDecision) -> bool:
    before = previous_review(review)
    return (
        before is not None
        and DecisionFollowUp.objects.filter(
            review=before, decision=decision, verdict=DecisionFollowUp.Verdict.NOT_DONE
        ).exists()
    )


def _decision_key_result(decision: StructuralDecision) -> KeyResult | None:
    """The key result a decision's response hangs on (a response needs one): its own evidence,
    else the one behind its dependency, response or trade-off."""
    if decision.key_result is not None:
        return decision.key_result
    if decision.dependency is not None:
        return decision.dependency.key_result
    if decision.response is not None:
        return decision.response.key_result
    if decision.trade_off is not None and decision.trade_off.added_key_result is not None:
        return decision.trade_off.added_key_result
    return None


def _open_decision_response(decision: StructuralDecision, quarter: Quarter) -> None:
    from reviews.responses import decision_response_open

    key_result = _decision_key_result(decision)
    if key_result is None:
        # Evidence only a trade-off that added an objective: nothing to hang a response on;
        # the follow-up (not done, twice) stays on both reviews for everyone to see.
        return
    decision_response_open(decision=decision, key_result=key_result, quarter=quarter)


# --- closing ------------------------------------------------------------------------------------


def close_refusal(review: Review) -> RuleBroken | None:
    """Why ``review`` cannot close now, or None. The service, the page and the admin ask it."""
    if not review.decisions.exists():
        return RuleBroken(NO_DECISION_MESSAGE, code="structural_decision_required")
    unmarked = unmarked_decisions(review)
    if unmarked:
        names = "; ".join(f"“{d.what_changes[:60]}”" for d in unmarked)
        return RuleBroken(
            f"Mark every decision of last quarter's review first (done and working, done but "
            f"not working, or not done): {names}.",
            code="follow_up_required",
            data={"decisions": [d.pk for d in unmarked]},
        )
    return None


def review_close(*, user: User, review: Review) -> Review:
    """Close the review (module docstring for the rules). The organisation's review closes its
    quarter and opens the responses to its missed key results."""
    _require_runner(user, review)
    with transaction.atomic():
        locked = (
            Review.objects.select_for_update(of=("self",)).select_related("team").get(pk=review.pk)
        )
        quarter = Quarter.objects.select_for_update().get(pk=locked.quarter_id)
        locked.quarter = quarter
        _require_open(locked)
        if locked.team_id is None and quarter.status != Quarter.Status.REVIEWING:
            raise RuleBroken(
                f"{quarter.name} is {quarter.get_status_display().lower()}: the organisation's "
                "review closes a quarter that is being reviewed."
            )
        refusal = close_refusal(locked)
        if refusal is not None:
            raise refusal
        now = timezone.now()
        locked.status = Review.Status.CLOSED
        locked.closed_at = now
        locked.closed_by = user
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        if locked.team_id is None:
            quarter.status = Quarter.Status.CLOSED
            quarter.save(update_fields=["status", "updated_at"])
            from reviews.responses import responses_open_for_quarter

            responses_open_for_quarter(quarter, now=now)
    return locked


def quarter_close_refusal(quarter: Quarter) -> str | None:
    """The admin's guard (okrly.registry): a quarter is closed by closing its organisation's
    review, never by flipping its status."""
    review = Review.objects.filter(quarter=quarter, team__isnull=True).first()
    if review is not None and review.status == Review.Status.CLOSED:
        return None
    if review is None or not review.decisions.exists():
        return NO_DECISION_MESSAGE
    return (
        "Close the quarter by closing its review (with its structural decisions and last "
        "quarter's follow-up), not from here."
    )


# --- settings applied when a decision takes effect ----------------------------------------------


def decisions_apply_due(now: datetime | None = None, *, limit: int = 500) -> int:
    """The beat job: apply the setting of every decision whose quarter has started. Each
    decision is locked (skip_locked: a concurrent run takes the others) and applied once
    (``applied_at``); the change is logged. Returns how many it applied."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = list(
        StructuralDecision.objects.filter(applied_at__isnull=True, takes_effect__start__lte=today)
        .exclude(setting="")
        .order_by("takes_effect__start", "created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    applied = 0
    for pk in due:
        with transaction.atomic():
            decision = (
                StructuralDecision.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, applied_at__isnull=True)
                .order_by()
                .first()
            )
            if decision is None:
                continue
            _apply(decision, now)
            applied += 1
    return applied


def _apply(decision: StructuralDecision, now: datetime) -> None:
    new = int(decision.setting_value or 0)
    if decision.setting == TEAM_OBJECTIVE_LIMIT:
        team = Team.objects.select_for_update().get(pk=int(decision.setting_team_id or 0))
        old: int | None = team.objective_limit
        team.objective_limit = new
        team.save(update_fields=["objective_limit"])
    else:
        old = setting_value_of(decision.setting)
        OrgSetting.objects.update_or_create(name=decision.setting, defaults={"value": new})
    SettingChange.objects.create(
        decision=decision,
        setting=decision.setting,
        team_id=decision.setting_team_id,
        old_value=old,
        new_value=new,
        applied_at=now,
    )
    decision.applied_at = now
    decision.save(update_fields=["applied_at"])
