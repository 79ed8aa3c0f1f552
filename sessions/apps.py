from django.apps import AppConfig


class GroupSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "group_sessions"
    verbose_name = "Group sessions"
