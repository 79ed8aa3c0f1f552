from django.apps import AppConfig


class PeerSupportConfig(AppConfig):
    name = "peersupport"
    verbose_name = "Peer support: people and organisations"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401  (registers checks and signal receivers)
