"""Risk alerts: a positive risk rule alerts the group's facilitators and the organisation's leads, once."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from outcomes.models import RiskAlert, RiskAlertStatus
from outcomes.questionnaires.permissions import groups_overseen
from peersupport import outbox
from peersupport.models import OutboxMessage, OutboxStatus, RoleKind, User

logger = logging.getLogger(__name__)

#: The outbox kind of one recipient's e-mail about a risk alert.
RISK_ALERT_EMAIL = "risk_alert"


def alerts_raise(*, response, flags) -> list[RiskAlert]:
    """Create one alert per triggered rule (never twice for a response and rule) and record its e-mails in the
    outbox, in the submit's transaction: they go out after commit, or, if the broker or mail server is down,
    when it is back (``peersupport.outbox``)."""
    if not flags:
        return []
    membership = response.assessment.membership
    alerts = []
    for rule in flags:
        try:
            with transaction.atomic():
                alert = RiskAlert.objects.create(
                    response=response,
                    rule=rule,
                    organisation=membership.group.organisation,
                    group=membership.group,
                    member=membership.user,
                )
        except IntegrityError:
            continue
        alerts.append(alert)
        alert_queue_emails(alert)
    return alerts


def alert_queue_emails(alert: RiskAlert) -> int:
    """Record one e-mail per recipient (the group's facilitators and the organisation's leads) in the outbox,
    once each whatever is retried. Returns how many were newly recorded."""
    recipients = alert_recipients(alert)
    if not recipients:
        logger.error(
            "Risk alert %s has no facilitator or lead to e-mail (organisation %s)", alert.pk, alert.organisation_id
        )
    recorded = 0
    for email in recipients:
        message = outbox.record(
            RISK_ALERT_EMAIL,
            {"alert_id": alert.pk, "to": email},
            dedupe_key=f"{RISK_ALERT_EMAIL}:{alert.pk}:{email.lower()}",
            subject=("risk_alert", alert.pk),
            recipient=email,
        )
        recorded += message is not None
    return recorded


def alert_recipients(alert: RiskAlert) -> list[str]:
    """The group's facilitators and the organisation's leads."""
    facilitators = alert.group.facilitators.values_list("email", flat=True)
    leads = User.objects.filter(
        roles__organisation=alert.organisation, roles__kind=RoleKind.LEAD, is_active=True
    ).values_list("email", flat=True)
    return sorted(set(facilitators) | set(leads))


def alert_notify(alert_id: int) -> bool:
    """Make sure the alert's e-mails are recorded and deliver any still pending now. True if this call sent one.

    Each recipient's e-mail is one outbox row, locked while it is sent and marked delivered in the same
    transaction, so two workers (or a retried task) never send it twice.
    """
    alert = RiskAlert.objects.select_related("group", "organisation").filter(pk=alert_id).first()
    if alert is None:
        return False
    alert_queue_emails(alert)
    pending = OutboxMessage.objects.filter(
        subject_type="risk_alert", subject_id=str(alert.pk), status=OutboxStatus.PENDING
    ).values_list("pk", flat=True)
    return any([outbox.deliver(pk) for pk in list(pending)])


@outbox.handler(RISK_ALERT_EMAIL)
def _send_alert_email(message: OutboxMessage) -> None:
    """Deliver one recipient's e-mail about an alert (rendered now, from the alert as it is)."""
    alert = (
        RiskAlert.objects.select_related("group", "organisation", "member")
        .filter(pk=message.payload["alert_id"])
        .first()
    )
    if alert is None:  # the alert is gone (its member's data were erased): nothing left to tell
        return
    body = render_to_string("outcomes/email/risk_alert.txt", {"alert": alert})
    EmailMessage(subject=_("Safeguarding: a member may need support now"), body=body, to=[message.payload["to"]]).send()
    RiskAlert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(notified_at=timezone.now())


@transaction.atomic
def alert_acknowledge(*, alert: RiskAlert, by: User, note: str) -> RiskAlert:
    note = note.strip()
    if not note:
        raise ValidationError({"note": _("Say what you did or will do, so colleagues know.")})
    alert = RiskAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == RiskAlertStatus.ACKNOWLEDGED:
        return alert
    alert.status = RiskAlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = by
    alert.acknowledged_at = timezone.now()
    alert.acknowledgement_note = note
    alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at", "acknowledgement_note"])
    return alert


def open_alerts_for(user: User, organisation):
    """Unacknowledged alerts a facilitator (own groups) or lead (whole organisation) must see."""
    qs = RiskAlert.objects.filter(organisation=organisation, status=RiskAlertStatus.OPEN).select_related(
        "group", "member"
    )

    return qs.filter(group__in=groups_overseen(user, organisation)).order_by("-created_at")
