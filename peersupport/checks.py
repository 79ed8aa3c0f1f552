"""System checks that tell an operator what cannot work."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_production_secret(app_configs, **kwargs):
    errors = []
    if not settings.DEBUG and settings.SECRET_KEY.startswith("dev-only-insecure"):
        errors.append(
            Error(
                "SECRET_KEY is the development key.",
                hint="Set SECRET_KEY in the environment to a long random value.",
                id="peersupport.E001",
            )
        )
    return errors
