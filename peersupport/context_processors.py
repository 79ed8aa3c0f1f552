from __future__ import annotations

from django.conf import settings

from .selectors import organisations_of


def navigation(request) -> dict:
    """The organisations and roles shown in the navigation, computed only when a template asks."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_memberships": []}

    cached: dict = {}

    def memberships():
        if "value" not in cached:
            cached["value"] = organisations_of(user)
        return cached["value"]

    return {"nav_memberships": memberships}


def site(request) -> dict:
    """The site's name for titles and the header (``SITE_NAME``)."""
    return {"site_name": settings.SITE_NAME}
