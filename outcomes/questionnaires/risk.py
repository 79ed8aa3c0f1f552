"""Risk alerts: a positive risk rule alerts the group's facilitators and the organisation's leads, once."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.permissions import groups_managed_by
from outcomes.models import RiskAlert, RiskAlertStatus
from peersupport import audit, outbox
from peersupport.models import AuditEvent, Organisation, OutboxMessage, OutboxStatus, RoleKind, User

logger = logging.getLogger(__name__)

#: The outbox kind of one recipient's e-mail about a risk alert.
RISK_ALERT_EMAIL = "risk_alert"
#: The outbox kind of one recipient's e-mail saying an alert is still unacknowledged.
RISK_ESCALATION_EMAIL = "risk_escalation"
#: Escalation levels: the organisation's leads after its escalation time, its out-of-hours contact after twice it.
TO_LEADS, TO_OUT_OF_HOURS = 1, 2


def alerts_raise(*, response, flags, historical: bool = False) -> list[RiskAlert]:
    """Create one alert per triggered rule (never twice for a response and rule) and record its e-mails in the
    outbox, in the submit's transaction: they go out after commit, or, if the broker or mail server is down,
    when it is back (``peersupport.outbox``).

    A ``historical`` alert (answers imported from paper or another system, given weeks or years ago) is recorded
    for review on the alert pages but never e-mailed nor escalated: nobody is woken for an old answer."""
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
                    historical=historical,
                )
        except IntegrityError:
            continue
        alerts.append(alert)
        if not historical:
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
    return sorted(set(facilitators) | set(_lead_emails(alert.organisation_id)))


def _lead_emails(organisation_id: int) -> list[str]:
    return list(
        User.objects.filter(
            roles__organisation_id=organisation_id, roles__kind=RoleKind.LEAD, is_active=True
        ).values_list("email", flat=True)
    )


def _facilitator_emails(group_id: int) -> list[str]:
    return list(User.objects.filter(facilitated_groups__pk=group_id, is_active=True).values_list("email", flat=True))


# --- Escalation --------------------------------------------------------------------------------------------


def alerts_escalate(*, now: dt.datetime | None = None) -> int:
    """Escalate every open alert that has waited too long (the periodic job, every 5 minutes): to the
    organisation's leads once it is ``alert_escalation_hours`` old, and to its out-of-hours contact, if one is
    set, once it is twice that. Idempotent: each step happens once per alert, whatever is retried or overlaps.
    Returns how many steps were taken."""
    now = now or timezone.now()
    waiting = RiskAlert.objects.filter(
        status=RiskAlertStatus.OPEN, historical=False, escalation_level__lt=TO_OUT_OF_HOURS
    )
    organisations = Organisation.objects.filter(pk__in=waiting.values("organisation_id")).only(
        "pk", "alert_escalation_hours", "out_of_hours_contact_email"
    )
    steps = 0
    for organisation in organisations:
        after = dt.timedelta(hours=organisation.alert_escalation_hours)
        due = waiting.filter(organisation=organisation, created_at__lte=now - after)
        for alert_id in due.filter(escalation_level__lt=TO_LEADS).values_list("pk", flat=True):
            steps += alert_escalate(alert_id, level=TO_LEADS, now=now)
        if organisation.out_of_hours_contact_email:
            for alert_id in due.filter(created_at__lte=now - 2 * after).values_list("pk", flat=True):
                steps += alert_escalate(alert_id, level=TO_OUT_OF_HOURS, now=now)
    return steps


@transaction.atomic
def alert_escalate(alert_id: int, *, level: int, now: dt.datetime | None = None) -> bool:
    """Take one escalation step for an alert still open: record its e-mails in the outbox (one per recipient,
    never twice), raise the alert's level and audit it. False if the alert was acknowledged meanwhile or is
    already at this level."""
    alert = RiskAlert.objects.select_for_update(of=("self",)).select_related("organisation").filter(pk=alert_id).first()
    if alert is None or alert.status != RiskAlertStatus.OPEN or alert.historical or alert.escalation_level >= level:
        return False
    organisation = alert.organisation
    out_of_hours = [organisation.out_of_hours_contact_email] if organisation.out_of_hours_contact_email else []
    no_lead = False
    if level == TO_LEADS:
        recipients = sorted(set(_lead_emails(organisation.pk)))
        if not recipients:
            # An organisation without a lead: the chase goes to the group's facilitators and the out-of-hours
            # contact instead of nobody (the alert's history says so).
            no_lead = True
            recipients = sorted(set(_facilitator_emails(alert.group_id)) | set(out_of_hours))
            logger.warning("Risk alert %s: the organisation has no lead; escalated to %s", alert.pk, recipients)
    else:
        recipients = out_of_hours
    if not recipients:
        logger.error("Risk alert %s cannot be escalated to level %s: nobody to e-mail", alert.pk, level)
    for email in recipients:
        outbox.record(
            RISK_ESCALATION_EMAIL,
            {"alert_id": alert.pk, "to": email, "level": level},
            dedupe_key=f"{RISK_ESCALATION_EMAIL}:{alert.pk}:{level}:{email.lower()}",
            subject=("risk_alert", alert.pk),
            recipient=email,
        )
    alert.escalation_level = level
    alert.escalated_at = now or timezone.now()
    alert.save(update_fields=["escalation_level", "escalated_at"])
    audit.record(
        AuditEvent.Action.RISK_ALERT_ESCALATED,
        organisation=organisation,
        obj=alert,
        level=level,
        recipients=recipients,
        no_lead=no_lead,
    )
    return True


@outbox.handler(RISK_ESCALATION_EMAIL)
def _send_escalation_email(message: OutboxMessage) -> None:
    """Deliver one recipient's e-mail saying an alert is still unacknowledged (unless it was acknowledged since)."""
    alert = (
        RiskAlert.objects.select_related("group", "organisation", "member")
        .filter(pk=message.payload["alert_id"])
        .first()
    )
    if alert is None or alert.status != RiskAlertStatus.OPEN:  # erased, or acknowledged since: nothing to chase
        return
    path = reverse("outcomes:alert", args=[alert.organisation.slug, alert.pk])
    body = render_to_string(
        "outcomes/email/risk_escalation.txt",
        {"alert": alert, "level": message.payload["level"], "alert_url": f"{settings.SITE_URL}{path}"},
    )
    EmailMessage(
        subject=_("Safeguarding: an alert is still unacknowledged"), body=body, to=[message.payload["to"]]
    ).send()


def alert_history(alert: RiskAlert) -> list[dict]:
    """Everything that happened to an alert, oldest first: raised, each e-mail (to whom, whether and when it
    went), each escalation step, the acknowledgement with its note."""
    events = [{"at": alert.created_at, "what": "raised"}]
    messages = OutboxMessage.objects.filter(subject_type="risk_alert", subject_id=str(alert.pk)).order_by(
        "created_at", "pk"
    )
    for message in messages:
        chased_too_late = (
            message.kind == RISK_ESCALATION_EMAIL
            and alert.acknowledged_at is not None
            and message.delivered_at is not None
            and message.delivered_at >= alert.acknowledged_at
        )
        events.append(
            {
                "at": message.delivered_at or message.created_at,
                "what": "escalation_email" if message.kind == RISK_ESCALATION_EMAIL else "email",
                "level": message.payload.get("level"),
                "to": message.recipient,
                "delivered": message.status == OutboxStatus.DELIVERED and not chased_too_late,
                "not_needed": chased_too_late,
                "attempts": message.attempts,
                "error": message.last_error,
            }
        )
    escalations = AuditEvent.objects.filter(
        action=AuditEvent.Action.RISK_ALERT_ESCALATED, object_type=alert._meta.label, object_id=str(alert.pk)
    ).order_by("at")
    for event in escalations:
        events.append(
            {
                "at": event.at,
                "what": "escalated",
                "level": event.detail.get("level"),
                "to": event.detail.get("recipients") or [],
                "no_lead": bool(event.detail.get("no_lead")),
            }
        )
    if alert.acknowledged_at:
        events.append(
            {
                "at": alert.acknowledged_at,
                "what": "acknowledged",
                "by": alert.acknowledged_by,
                "note": alert.acknowledgement_note,
            }
        )
    return sorted(events, key=lambda event: event["at"])


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
    path = reverse("outcomes:alert", args=[alert.organisation.slug, alert.pk])
    body = render_to_string(
        "outcomes/email/risk_alert.txt", {"alert": alert, "alert_url": f"{settings.SITE_URL}{path}"}
    )
    EmailMessage(subject=_("Safeguarding: a member may need support now"), body=body, to=[message.payload["to"]]).send()
    RiskAlert.objects.filter(pk=alert.pk, notified_at__isnull=True).update(notified_at=timezone.now())


@transaction.atomic
def alert_acknowledge(*, alert: RiskAlert, by: User, note: str, request: HttpRequest | None = None) -> RiskAlert:
    """Mark the alert acknowledged with what was done (audited once; a second acknowledgement changes nothing)."""
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
    audit.record(
        AuditEvent.Action.RISK_ALERT_ACKNOWLEDGED, actor=by, organisation=alert.organisation, obj=alert, request=request
    )
    return alert


def alerts_visible_to(user: User, organisation):
    """Every alert (open or acknowledged) of the groups a facilitator runs, or of the whole organisation for a lead."""
    return RiskAlert.objects.filter(
        organisation=organisation, group__in=groups_managed_by(user, organisation)
    ).select_related("group", "member", "acknowledged_by")


def open_alerts_for(user: User, organisation):
    """Unacknowledged alerts a facilitator (own groups) or lead (whole organisation) must see."""
    qs = RiskAlert.objects.filter(organisation=organisation, status=RiskAlertStatus.OPEN).select_related(
        "group", "member"
    )

    return qs.filter(group__in=groups_managed_by(user, organisation)).order_by("-created_at")
