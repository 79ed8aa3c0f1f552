from django.apps import AppConfig


class GroupSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "group_sessions"
    verbose_name = "Group sessions"

    def ready(self) -> None:
        # why: app modules load once the registry is ready (Django's documented place for these imports).
        from groups import hooks

        from . import datarights, selectors  # noqa: F401  (datarights registers its part)

        # The groups pages show the next session and attendance without groups importing this app.
        hooks.add_group_figures(selectors.groups_with_session_figures)
        hooks.add_membership_figures(selectors.memberships_with_session_figures)
