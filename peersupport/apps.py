from django.apps import AppConfig
from django.conf import settings


class PeerSupportConfig(AppConfig):
    name = "peersupport"
    verbose_name = "Peer support: people and organisations"

    def ready(self) -> None:
        # App modules load once the registry is ready (Django's documented place for these imports).
        from . import checks, scheduler, signals  # noqa: F401  (registers checks and signal receivers)

        if settings.IN_PROCESS_SCHEDULE and scheduler.serving_process():
            scheduler.start(settings.CELERY_BEAT_SCHEDULE)
