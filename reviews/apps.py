from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okrly import registry
        from reviews import response_views, risks

        # The risk feed's items, kept by every write that changes them.
        risks.connect_signals()
        # Rule 10: the service or job that detects a miss reports it; this opens its response.
        from reviews.responses import handle_reported_miss

        registry.register_miss_handler("responses", handle_reported_miss)
        # Issue 15: the leaders' weekly digest e-mail lists its items as links.
        from reviews.digest import digest_email_context

        registry.register_email_context("leader_digest", digest_email_context)
        # Rule 11: the admin's status field cannot close a quarter past its review.
        from reviews.review_services import quarter_close_refusal

        registry.register_quarter_close_guard("review", quarter_close_refusal)
        # Issue 16: the set-up page activates the next quarter once this one is in review.
        from reviews.lifecycle import start_for_next_quarter

        registry.register_review_starter(start_for_next_quarter)
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
        # Issue 15: the unanswered risks beside Dashboard in the navigation, for leaders.
        from reviews import selectors

        registry.register_nav_count(
            "reviews:dashboard", selectors.nav_unanswered_sql, words="unanswered risks"
        )
        registry.register_asked(
            "early_escalation",
            early_escalation_views.asked_of,
            early_escalation_views.asked_count_sql,
        )
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
