"""Celery tasks of the core app. Thin: each one calls a plain function."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.core.mail import EmailMultiAlternatives


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=30,
    # Acknowledged on receipt, not after: a worker that dies after the mail
    # server took the message must not send it again on redelivery. Failures
    # the mail server reports are retried above.
    acks_late=False,
)
def send_email(self, payload: dict) -> None:
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
