"""The transactional outbox: messages whose loss would hurt someone are never lost.

``record`` writes an ``OutboxMessage`` row in the caller's transaction, so the message exists exactly when the
change that causes it was committed (a rolled-back submit sends nothing; a committed one always does). After
commit it asks Celery to deliver the row at once; if the broker is down that request is dropped with a warning,
never raised into the page, and the periodic ``deliver_outbox`` job (Celery beat, or the in-process scheduler of
``make run``) delivers every row still pending, with back-off.

Delivery (``deliver``) locks the row, runs the handler registered for its ``kind``, and marks it delivered in
the same transaction, so two workers never both deliver a row and a retried task finds it done. A handler that
fails leaves the row pending with the error and the time of its next attempt. The one case that can repeat a
message is a process dying after the mail server accepted it and before the commit: at-least-once, as with
any mail queue. ``dedupe_key`` keeps the cause from recording one message twice (one e-mail per recipient per
alert, whatever is retried).

Handlers are registered by kind: ``email`` lives here; apps register their own (``outcomes`` registers
``risk_alert``) when their modules load, since ``peersupport`` imports no feature app.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone

from .jobs import enqueue
from .models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxMessage], None]
HANDLERS: dict[str, Handler] = {}

#: The first retry waits this long; each further one twice as long as the last, up to ``MAX_BACKOFF``.
FIRST_BACKOFF = dt.timedelta(seconds=30)
MAX_BACKOFF = dt.timedelta(minutes=30)
#: How many pending rows one run of the periodic job delivers (the next run takes the rest).
BATCH = 200


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers messages of ``kind``. It may raise: the row is retried later."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def record(
    kind: str,
    payload: dict,
    *,
    dedupe_key: str | None = None,
    subject: tuple[str, object] | None = None,
    recipient: str = "",
) -> OutboxMessage | None:
    """Write a message to deliver once the current transaction commits. Returns ``None`` if one with this
    ``dedupe_key`` exists already (it will be, or was, delivered)."""
    if kind not in HANDLERS:
        raise ValueError(f"No outbox handler for {kind!r}; register one with peersupport.outbox.handler.")
    subject_type, subject_id = subject if subject else ("", "")
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                kind=kind,
                payload=payload,
                dedupe_key=dedupe_key,
                subject_type=subject_type,
                subject_id=str(subject_id),
                recipient=recipient,
            )
    except IntegrityError:
        if dedupe_key and OutboxMessage.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    transaction.on_commit(lambda pk=message.pk: _deliver_soon(pk))
    return message


def _deliver_soon(message_id: int) -> None:
    enqueue("peersupport.tasks.deliver_outbox_message", message_id)


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt (30 s, 1 min, 2 min … at most 30 min)."""
    return min(FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def deliver(message_id: int) -> bool:
    """Deliver one pending message now, whatever its next attempt time. True if this call delivered it."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING)
            .first()
        )
        if message is None:  # delivered already, or another worker holds it
            return False
        now = timezone.now()
        message.attempts += 1
        try:
            with transaction.atomic():  # what a failed handler wrote goes; the row's own bookkeeping stays
                HANDLERS[message.kind](message)
        except Exception as exc:  # any failure: keep the message and try again later
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = now + backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            log = logger.error if message.attempts >= 5 else logger.warning
            log(
                "Outbox message %s (%s to %s) failed, attempt %d; next at %s: %s",
                message.pk,
                message.kind,
                message.recipient or "—",
                message.attempts,
                message.next_attempt_at.isoformat(),
                message.last_error,
            )
            return False
        message.status = OutboxStatus.DELIVERED
        message.delivered_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "status", "delivered_at", "last_error"])
        return True


def deliver_due(*, now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Deliver pending messages whose next attempt is due, oldest first. Returns how many were delivered."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(deliver(pk) for pk in list(due))


def pending_count() -> int:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()


@handler("email")
def _send_email(message: OutboxMessage) -> None:
    payload = message.payload
    email = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload.get("from_email"),
        to=payload["to"],
    )
    if payload.get("html"):
        email.attach_alternative(payload["html"], "text/html")
    email.send()
