"""The site's name and address come from settings (``SITE_NAME``, ``SITE_URL``), never from the database.

django.contrib.sites keeps a row that allauth reads for its e-mails; ``sync_site`` makes that row say what the
settings say. It runs after every ``migrate`` (and after each flush in tests), so changing ``SITE_URL`` and
restarting with ``make run`` (which migrates) is all it takes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site


def site_domain() -> str:
    """The host (and port) of ``SITE_URL``, e.g. ``127.0.0.1:8000``."""
    return urlsplit(settings.SITE_URL).netloc or "localhost"


def site_link(url: str) -> str:
    """The same address on ``SITE_URL``: ``http://testserver/a/?b=1`` becomes ``<SITE_URL>/a/?b=1``."""
    bits = urlsplit(url)
    return settings.SITE_URL + (bits.path or "/") + (f"?{bits.query}" if bits.query else "")


class SettingsSite:
    """The site as settings say it is now, shaped like a ``Site`` for templates (``name``, ``domain``): what
    e-mails are rendered with, so they never wait on a ``migrate`` to follow a changed setting."""

    @property
    def name(self) -> str:
        return settings.SITE_NAME

    @property
    def domain(self) -> str:
        return site_domain()

    def __str__(self) -> str:
        return self.domain


def sync_site(**kwargs):
    """Create or correct the Sites framework's row for ``SITE_ID``. Returns it."""
    site, _ = Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"domain": site_domain()[:100], "name": settings.SITE_NAME[:50]}
    )
    Site.objects.clear_cache()
    return site
