from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "checkins"
    verbose_name = "Check-ins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from checkins import asked, demo, prompts, selectors, views
        from okrly import registry

        registry.register_asked("checkin_needs", asked.asked_of, selectors.needs_count_sql)
        registry.register_my_week_panel("checkins", views.render_my_week, order=10)
        registry.register_key_result_panel("checkins", views.render_key_result_panel, order=10)
        registry.register_email_context("checkin_prompt", prompts.prompt_email_context)
        registry.register_demo_seeder("checkins", demo.seed, order=30)
