from django.apps import AppConfig


class ElectionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "elections"
    verbose_name = "Elections"

    def ready(self) -> None:
        from elections import checks  # noqa: F401  (registers the deployment checks)
