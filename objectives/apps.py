from django.apps import AppConfig


class ObjectivesConfig(AppConfig):
    name = "objectives"
    verbose_name = "Objectives and key results"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from objectives import definitions, demo, panels
        from okrly import registry

        definitions.connect_signals()

        # Only while no app fills My week (check-ins do): the user's key results as a list.
        registry.register_my_week_fallback("objectives", panels.render_my_week)
        registry.register_team_section("objectives", panels.render_team_objectives, order=10)
        # First: the other apps' demo data hangs off these key results.
        registry.register_demo_seeder("objectives", demo.seed, order=10)
        # Last: the definition groups include the teams depended on (dependencies' demo), and
        # the trade-off defers a key result that already has its check-ins and owner.
        registry.register_demo_seeder("definitions", demo.seed_definitions, order=90)
