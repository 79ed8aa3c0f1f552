"""Celery tasks of the core app. Thin: each one calls a plain function."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from . import audit, datarights, outbox


@shared_task(soft_time_limit=60, time_limit=90)
def deliver_outbox_message(message_id: int) -> bool:
    """Deliver one outbox row, queued after the commit that wrote it. Safe to run twice (the row is locked and
    marked delivered in one transaction); a failure leaves it to ``deliver_outbox``'s back-off."""
    return outbox.deliver(message_id)


@shared_task(soft_time_limit=240, time_limit=300)
def seal_audit() -> int:
    """Seal audit rows still outside the hash chain (every minute, by beat); normally there are none."""
    return audit.seal_pending()


@shared_task(soft_time_limit=240, time_limit=300)
def deliver_outbox() -> int:
    """Deliver every outbox row still pending whose next attempt is due (every minute, by beat)."""
    return outbox.deliver_due()


@shared_task(soft_time_limit=1800, time_limit=1900)
def erase_inactive_accounts() -> dict:
    """Warn, then erase, members inactive past their organisation's period (daily, by beat); off unless a lead
    set a period. Safe to run twice: one warning per stretch of inactivity, one erasure."""
    report = datarights.inactive_accounts_sweep()
    return {"warned": report.warned, "erased": report.erased}


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=30,
    acks_late=False,
)
def send_email(self, payload: dict) -> None:
    """Kept only so that messages queued by an earlier release, before the outbox, are still delivered.
    New code calls ``peersupport.mail.queue_email``."""
    message = EmailMultiAlternatives(
        subject=payload["subject"],
        body=payload["body"],
        from_email=payload.get("from_email"),
        to=payload["to"],
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    message.send()


@shared_task
def ping() -> str:
    """Answers "pong": lets operators and tests check that a worker consumes the queue."""
    return "pong"
