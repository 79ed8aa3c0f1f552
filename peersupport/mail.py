"""Queueing e-mail: every message the product sends is an outbox row, delivered after commit.

See ``peersupport.outbox``: the row is written in the caller's transaction, so a rolled-back change sends
nothing and a committed one always does, even if the broker or the mail server is down at the time.
"""

from __future__ import annotations

from django.conf import settings

from . import outbox


def signature() -> str:
    """The last lines of every e-mail: the site's name and address (``SITE_NAME``, ``SITE_URL``)."""
    return f"\n\n-- \n{settings.SITE_NAME}\n{settings.SITE_URL}/\n"


def queue_email(
    *,
    subject: str,
    body: str,
    to: list[str],
    html: str | None = None,
    from_email: str | None = None,
    dedupe_key: str | None = None,
    about: tuple[str, object] | None = None,
) -> None:
    """Send an e-mail once the current transaction commits (at once outside a transaction).

    ``dedupe_key`` makes it unique (a second call with the same key records nothing); ``about`` names what it
    is about, e.g. ``("invitation", 12)``, for the message's history. The body ends with ``signature()``.
    """
    payload = {
        "subject": subject,
        "body": body.rstrip() + signature(),
        "to": list(to),
        "html": html,
        "from_email": from_email or settings.DEFAULT_FROM_EMAIL,
    }
    outbox.record("email", payload, dedupe_key=dedupe_key, subject=about, recipient=", ".join(to)[:254])
