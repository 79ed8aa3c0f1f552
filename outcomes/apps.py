from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers the system check and signal receivers)
