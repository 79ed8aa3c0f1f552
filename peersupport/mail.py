"""Queueing e-mail: every message the product sends goes through the ``send_email`` task."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction


def queue_email(
    *, subject: str, body: str, to: list[str], html: str | None = None, from_email: str | None = None
) -> None:
    """Send an e-mail through Celery once the current transaction commits.

    Outside a transaction it is queued at once. A rolled-back transaction sends nothing.
    """
    from .tasks import send_email

    payload = {
        "subject": subject,
        "body": body,
        "to": list(to),
        "html": html,
        "from_email": from_email or settings.DEFAULT_FROM_EMAIL,
    }
    transaction.on_commit(lambda: send_email.delay(payload))
