from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okrly import registry
        from reviews import response_views, views

        registry.register_key_result_panel("reviews", views.render_key_result_panel, order=15)
        # Rule 10: the service or job that detects a miss reports it; this opens its response.
        from reviews.responses import handle_reported_miss

        registry.register_miss_handler("responses", handle_reported_miss)
        # Rule 11: the admin's status field cannot close a quarter past its review.
        from reviews.review_services import quarter_close_refusal

        registry.register_quarter_close_guard("review", quarter_close_refusal)
        # Rule 10: the responses to a key result's or a dependency's missed commitments.
        registry.register_key_result_panel(
            "responses", response_views.render_key_result_responses, order=14
        )
        registry.register_dependency_panel("responses", response_views.render_dependency_responses)
        # Rule 7: early escalation, raised from My week's cards and the key result page,
        # answered from "Asked of me".
        from reviews import early_escalation_views

        registry.register_my_week_card_actions(
            "early_escalation", early_escalation_views.my_week_card_actions
        )
        registry.register_key_result_panel(
            "early_escalation", early_escalation_views.render_key_result_panel, order=16
        )
        registry.register_asked("early_escalation", early_escalation_views.asked_of)
        # Issue 13: while a quarter is reviewing, My week grades its key results (before the
        # check-in forms, which a reviewing quarter no longer shows).
        from reviews import grading_views

        registry.register_my_week_panel("grading", grading_views.render_my_week, order=5)
        # Issue 13: where a key result was carried from or into, and "Carry over".
        from reviews import carryover_views

        registry.register_key_result_panel(
            "carryover", carryover_views.render_key_result_panel, order=17
        )
        # The demo's responses and early escalations: last, after the definitions and
        # Product's trade-off (order 90), on the key results and dependencies they made.
        from reviews import demo

        registry.register_demo_seeder("reviews", demo.seed, order=95)
        # Issue 13: the closed previous quarter with its review and two decisions, one of them
        # followed up as not done (after everything the current quarter's evidence is made of).
        from reviews import review_demo

        registry.register_demo_seeder("review", review_demo.seed, order=98)
        self._invalidate_dashboard_on_writes()

    def _invalidate_dashboard_on_writes(self) -> None:
        """Any saved or deleted row the dashboard aggregates bumps its cache version."""
        from django.contrib.auth import get_user_model
        from django.db.models import Model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from checkins.models import CheckIn, CheckInPrompt, MissedCheckIn
        from dependencies.models import Dependency, Escalation
        from objectives.models import (
            DefinitionAcknowledgement,
            DefinitionVersion,
            Displacement,
            KeyResult,
            Objective,
            TradeOff,
        )
        from okrly.dashcache import bump
        from okrly.models import Membership, Profile, Quarter, Team
        from ownership.models import AuthorityGrant, NoDependencies, OwnershipNomination
        from reviews.models import EarlyEscalation, EscalationHop, MissResponse, NextStep

        models: list[type[Model]] = [
            get_user_model(),
            Team,
            Membership,
            Profile,
            Quarter,
            Objective,
            KeyResult,
            OwnershipNomination,
            AuthorityGrant,
            NoDependencies,
            Dependency,
            Escalation,
            CheckIn,
            CheckInPrompt,
            MissedCheckIn,
            # Rule 8: trade-offs per team, and what they displaced (a trade-off's key results
            # are marked by a bulk update, which sends no signal: the TradeOff row's save in
            # the same transaction bumps for it).
            TradeOff,
            Displacement,
            # Rule 9: "definitions not shared".
            DefinitionVersion,
            DefinitionAcknowledgement,
            # Rule 10: consistency of responses to misses, the surprise rate (rule 7), the
            # people view's escalations and the risk feed's early escalations.
            MissResponse,
            NextStep,
            EarlyEscalation,
            EscalationHop,
        ]
        for model in models:
            uid = f"okrly_dashboard_{model._meta.label_lower}"
            post_save.connect(bump, sender=model, dispatch_uid=uid + "_save")
            post_delete.connect(bump, sender=model, dispatch_uid=uid + "_delete")
        m2m_changed.connect(
            bump, sender=AuthorityGrant.rights.through, dispatch_uid="okrly_dashboard_rights"
        )
        # Joining or leaving the leadership group changes who must acknowledge definitions.
        m2m_changed.connect(
            bump, sender=get_user_model().groups.through, dispatch_uid="okrly_dashboard_groups"
        )
