"""Celery entry points for outcomes. Thin: each calls a service."""

from __future__ import annotations

import smtplib

from celery import shared_task

from groups.models import Membership
from outcomes.evaluation.marking import mark_stale_for_sessions_started
from outcomes.evaluation.recompute import mark_stale_for_changed_data, recompute_stale
from outcomes.questionnaires.lifecycle import assessments_advance, assessments_ensure
from outcomes.questionnaires.risk import alert_notify, alerts_escalate


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError, OSError),
    retry_backoff=15,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=60,
)
def notify_risk_alert(alert_id: int) -> bool:
    """Record the alert's e-mails in the outbox (if they are not already) and deliver them. New alerts record
    theirs in the submit's transaction; this task stays for messages queued before the outbox existed."""
    return alert_notify(alert_id)


@shared_task(soft_time_limit=240, time_limit=280)
def escalate_risk_alerts() -> int:
    """Escalate risk alerts nobody acknowledged in time (every 5 minutes, by beat or the in-process scheduler)."""
    return alerts_escalate()


@shared_task(soft_time_limit=600, time_limit=660)
def advance_assessments() -> dict:
    """Open, remind and expire assessments (every 15 minutes, by beat)."""
    report = assessments_advance()
    return {k: v for k, v in vars(report).items() if k != "skipped"}


@shared_task
def create_assessments(membership_id: int) -> int:
    membership = Membership.objects.filter(pk=membership_id).select_related("group").first()
    return assessments_ensure(membership) if membership else 0


@shared_task(soft_time_limit=900, time_limit=960, acks_late=True)
def recompute_organisation(organisation_id: int) -> int:
    """Recompute the organisation's stale cohorts (queued after submits, coalesced)."""
    return recompute_stale(organisation_id=organisation_id)


@shared_task(soft_time_limit=1800, time_limit=1900)
def sweep_stale_cohorts() -> int:
    """Recompute anything still stale: a lost message delays a figure, never loses it (every 5 minutes).

    First marks the groups whose sessions started since their figures were computed (the dose moved on), and
    the cohorts of groups whose data changed without marking anything (an admin's edit or delete).
    """
    mark_stale_for_sessions_started()
    mark_stale_for_changed_data()
    return recompute_stale()
