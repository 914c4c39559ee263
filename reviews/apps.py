from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews and dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okrly import registry
        from reviews import views

        registry.register_key_result_panel("reviews", views.render_key_result_panel, order=15)
