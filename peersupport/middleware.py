"""Response headers and answers for a bad day, for every page."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error

logger = logging.getLogger(__name__)

# The errors of a database that cannot be reached or has gone away (a restart, a full connection table).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class PermissionsPolicyMiddleware:
    """Adds ``Permissions-Policy`` (settings.PERMISSIONS_POLICY): no page may use the camera, microphone,
    location and the other powerful features the site never needs."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.value = ", ".join(
            f"{feature}=({' '.join(allowed)})" for feature, allowed in settings.PERMISSIONS_POLICY.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response


def database_unavailable(request: HttpRequest | None = None) -> HttpResponse:
    """A short 503 page with ``Retry-After``, rendered without touching the database (no context processors,
    no user, no session)."""
    response = HttpResponse(render_to_string("503.html", {"retry_after": settings.DATABASE_RETRY_AFTER}), status=503)
    response["Retry-After"] = str(settings.DATABASE_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A view that fails because the database cannot be reached answers 503, not 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DATABASE_UNAVAILABLE):
            logger.error("Database unavailable for %s %s: %s", request.method, request.path, exception)
            return database_unavailable(request)
        return None


def server_error_or_unavailable(request: HttpRequest) -> HttpResponse:
    """``handler500``: what fails outside a view (a middleware reading the session, say) because the database
    is down is a 503 too; anything else is Django's 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE) or (
        isinstance(exception, DatabaseError) and isinstance(exception.__cause__, DATABASE_UNAVAILABLE)
    ):
        return database_unavailable(request)
    return server_error(request)
