from django.apps import AppConfig


class DependenciesConfig(AppConfig):
    name = "dependencies"
    verbose_name = "Dependencies"
    default_auto_field = "django.db.models.BigAutoField"
