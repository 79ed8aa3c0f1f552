"""Celery entry points for sessions. Thin: each calls a service."""

from __future__ import annotations

from celery import shared_task

from .services import reminders_send


@shared_task(soft_time_limit=300, time_limit=360)
def send_session_reminders() -> int:
    """E-mail tomorrow's reminders (hourly, by beat). Safe to run twice: each session+member is reminded once."""
    return reminders_send()
