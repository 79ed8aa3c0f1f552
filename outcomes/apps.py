from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self):
        from . import checks, risk, signals  # noqa: F401  (registers the system check, outbox handler, receivers)
