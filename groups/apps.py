from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Support groups"

    def ready(self) -> None:
        # why: app modules load once the registry is ready (registers this app's part of the data download/erasure)
        from . import datarights  # noqa: F401
