"""System checks that tell an operator what cannot work."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


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


@register(Tags.security, deploy=True)
def check_site_url(app_configs, **kwargs):
    if settings.DEBUG or settings.SITE_URL_SET:
        return []
    return [
        Warning(
            f"SITE_URL is not set: links in e-mails point at {settings.SITE_URL}.",
            hint="Set SITE_URL to the address people open, e.g. https://peers.example.org.",
            id="peersupport.W002",
        )
    ]
