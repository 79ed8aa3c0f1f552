from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Outcomes"

    def ready(self):
        # why: app modules load once the registry is ready (registers the system check, outbox handler, receivers)
        from . import checks, datarights, signals  # noqa: F401
        from .questionnaires import risk  # noqa: F401
