"""Risk alerts: a positive risk rule alerts the group's facilitators and the organisation's leads, once."""

from __future__ import annotations

import logging

from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from peersupport.models import RoleKind, User

from .models import RiskAlert, RiskAlertStatus

logger = logging.getLogger(__name__)


def alerts_raise(*, response, flags) -> list[RiskAlert]:
    """Create one alert per triggered rule (never twice for a response and rule) and notify after commit."""
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
        from .tasks import notify_risk_alert

        transaction.on_commit(lambda pk=alert.pk: notify_risk_alert.delay(pk))
    return alerts


def alert_recipients(alert: RiskAlert) -> list[str]:
    """The group's facilitators and the organisation's leads."""
    facilitators = alert.group.facilitators.values_list("email", flat=True)
    leads = User.objects.filter(
        roles__organisation=alert.organisation, roles__kind=RoleKind.LEAD, is_active=True
    ).values_list("email", flat=True)
    return sorted(set(facilitators) | set(leads))


def alert_notify(alert_id: int) -> bool:
    """E-mail the alert unless it was already sent. Raises if the mail server fails (the task retries).

    The row is locked while sending, and marked sent in the same transaction, so
    two workers cannot both send it.
    """
    with transaction.atomic():
        alert = (
            RiskAlert.objects.select_for_update()
            .select_related("group", "organisation", "member")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None or alert.notified_at is not None:
            return False
        recipients = alert_recipients(alert)
        if recipients:
            body = render_to_string("outcomes/email/risk_alert.txt", {"alert": alert})
            EmailMessage(
                subject=_("Safeguarding: a member may need support now"),
                body=body,
                to=recipients,
            ).send()
        alert.notified_at = timezone.now()
        alert.save(update_fields=["notified_at"])
        return True


@transaction.atomic
def alert_acknowledge(*, alert: RiskAlert, by: User, note: str) -> RiskAlert:
    note = note.strip()
    if not note:
        from django.core.exceptions import ValidationError

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
    from .permissions import groups_overseen

    return qs.filter(group__in=groups_overseen(user, organisation)).order_by("-created_at")
