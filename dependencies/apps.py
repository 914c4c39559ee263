from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Dependencies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dependencies import asked, demo, selectors, views
        from dependencies.models import Dependency
        from objectives import definitions
        from okrly import registry

        # A request adds its provider team's leads to the objective's definition group (and a
        # decline removes them): the objective's Objective.definition_shared follows.
        post_save.connect(
            definitions.on_key_result_child_saved, sender=Dependency, dispatch_uid="definitions_dep"
        )
        post_delete.connect(
            definitions.on_key_result_child_deleted,
            sender=Dependency,
            dispatch_uid="definitions_dep_delete",
        )

        registry.register_asked("dependencies", asked.asked_of, selectors.awaiting_count_sql)
        registry.register_key_result_panel("dependencies", views.render_key_result_panel, order=20)
        registry.register_team_panel("dependencies", views.render_team_panel, order=20)
        registry.register_demo_seeder("dependencies", demo.seed, order=20)
        registry.register_definition_teams("dependencies", selectors.definition_teams)
        registry.register_dependent_teams("dependencies", selectors.dependent_teams)
