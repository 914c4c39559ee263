from django.apps import AppConfig


class OwnershipConfig(AppConfig):
    name = "ownership"
    verbose_name = "Ownership and authority"
    default_auto_field = "django.db.models.BigAutoField"
