from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Dependencies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dependencies import asked, demo, selectors, views
        from okrly import registry

        registry.register_asked("dependencies", asked.asked_of)
        registry.register_key_result_panel("dependencies", views.render_key_result_panel, order=20)
        registry.register_team_panel("dependencies", views.render_team_panel, order=20)
        registry.register_demo_seeder("dependencies", demo.seed, order=20)
        registry.register_definition_teams("dependencies", selectors.definition_teams)
        registry.register_dependent_teams("dependencies", selectors.dependent_teams)
