from django.apps import AppConfig


class OwnershipConfig(AppConfig):
    name = "ownership"
    verbose_name = "Ownership and authority"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okrly import registry
        from ownership import asked, badges, cards, demo, views

        registry.register_asked("ownership", asked.asked_of, asked.count_sql)
        # Before reviews' "Escalate" (order 50): accepting comes first.
        registry.register_my_week_card_actions("acceptance", cards.my_week_card_actions, order=10)
        registry.register_key_result_panel("ownership", views.render_key_result_panel, order=5)
        registry.register_key_result_badges("accountability", badges.render_badges)
        registry.register_demo_seeder("ownership", demo.seed, order=40)
        # Issue 14: each key result's status row, written with every change to its inputs.
        from ownership import status

        status.connect_signals()
