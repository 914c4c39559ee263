from django.apps import AppConfig


class OkrlyConfig(AppConfig):
    name = "okrly"
    verbose_name = "Organisation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from okrly import signals  # noqa: F401 - connects the profile-creation receiver
