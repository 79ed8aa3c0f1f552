from django.apps import AppConfig
from django.conf import settings


class PeerSupportConfig(AppConfig):
    name = "peersupport"
    verbose_name = "Peer support: people and organisations"

    def ready(self) -> None:
        # why: app modules load once the registry is ready (Django's documented place for these imports).
        from django.db.models.signals import post_migrate

        from . import checks, datarights, scheduler, signals, sites  # noqa: F401  (registers checks, receivers, parts)

        # After django.contrib.sites has made its example.com row (it is earlier in INSTALLED_APPS).
        post_migrate.connect(sites.sync_site, sender=self, dispatch_uid="peersupport.sync_site")

        if settings.IN_PROCESS_SCHEDULE and scheduler.serving_process():
            scheduler.start(settings.CELERY_BEAT_SCHEDULE)
