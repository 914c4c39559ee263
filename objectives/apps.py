from django.apps import AppConfig


class ObjectivesConfig(AppConfig):
    name = "objectives"
    verbose_name = "Objectives and key results"
    default_auto_field = "django.db.models.BigAutoField"
