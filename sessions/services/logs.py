"""The fidelity checklist, session logs and one-to-one contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from groups.models import Membership, MembershipStatus
from peersupport import audit
from peersupport.models import Organisation, User
from peersupport.selectors import consent_is_active

from ..models import (
    FidelityItem,
    GroupSession,
    OneToOneContact,
    SessionLog,
)
from .actions import Action

DEFAULT_FIDELITY_ITEMS = [
    ("mutuality", gettext_lazy("Mutuality: we related as equals; the facilitator also shared and learned")),
    ("lived_experience", gettext_lazy("Shared lived experience was drawn on, with care")),
    ("choice_and_control", gettext_lazy("Choice and control: members chose what and how much to share")),
    ("hope_and_recovery", gettext_lazy("Hope and recovery focus: strengths and possibilities, not deficits")),
    ("safety", gettext_lazy("Safety: agreements kept; anyone in distress was offered support")),
]

MIN_CONTACT_MINUTES = 1
MAX_CONTACT_MINUTES = 600


# --- Fidelity checklist and session logs ----------------------------------------------------------


def fidelity_items_for(organisation: Organisation, *, active_only: bool = True) -> list[FidelityItem]:
    """The organisation's checklist, creating the default items the first time it is asked for.

    Idempotent and safe under concurrency (ignore_conflicts on the unique key). Only an
    organisation with no items at all gets the defaults, so a lead's changes stay.
    """
    items = list(FidelityItem.objects.filter(organisation=organisation))
    if not items:
        FidelityItem.objects.bulk_create(
            [
                FidelityItem(organisation=organisation, key=key, label=str(label), position=(i + 1) * 10)
                for i, (key, label) in enumerate(DEFAULT_FIDELITY_ITEMS)
            ],
            ignore_conflicts=True,
        )
        items = list(FidelityItem.objects.filter(organisation=organisation))
    return [item for item in items if item.active or not active_only]


@transaction.atomic
def fidelity_items_save(
    *,
    organisation: Organisation,
    changes: Mapping[int, Mapping],
    new_label: str = "",
    by: User | None,
    request: HttpRequest | None = None,
) -> None:
    """Apply a lead's edits ({item id: {label, position, active}}) and add one item by label.

    Items are switched off, never deleted: logs written against them keep their meaning.
    """
    items = {item.pk: item for item in FidelityItem.objects.select_for_update().filter(organisation=organisation)}
    for item_id, values in changes.items():
        item = items.get(item_id)
        if item is None:
            raise ValidationError(_("That checklist item no longer exists. Reload the page."))
        item.label = values["label"].strip()
        item.position = values["position"]
        item.active = values["active"]
        item.full_clean()
        item.save()
    new_label = new_label.strip()
    if new_label:
        base = slugify(new_label)[:32] or "item"
        key, n = base, 2
        taken = {item.key for item in items.values()}
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        position = max((item.position for item in items.values()), default=0) + 10
        FidelityItem.objects.create(organisation=organisation, key=key, label=new_label[:200], position=position)
    audit.record(
        Action.FIDELITY_ITEMS_CHANGED,
        actor=by,
        organisation=organisation,
        request=request,
        changed=len(changes),
        added=bool(new_label),
    )


@transaction.atomic
def session_log_save(
    *,
    session: GroupSession,
    facilitator: User,
    notes: str,
    fidelity: Mapping[str, bool],
    request: HttpRequest | None = None,
) -> SessionLog:
    """Write or update ``facilitator``'s log of the session (one per facilitator and session)."""
    known = {item.key for item in fidelity_items_for(session.group.organisation, active_only=False)}
    unknown = set(fidelity) - known
    if unknown:
        raise ValidationError(_("Unknown checklist items: %(keys)s.") % {"keys": ", ".join(sorted(unknown))})
    log, _created = SessionLog.objects.update_or_create(
        session=session,
        facilitator=facilitator,
        defaults={"notes": notes.strip(), "fidelity": {key: bool(value) for key, value in fidelity.items()}},
    )
    audit.record(Action.LOG_SAVED, actor=facilitator, organisation=session.group.organisation, obj=log, request=request)
    return log


# --- One-to-one contacts -------------------------------------------------------------------------------


@transaction.atomic
def contact_record(
    *,
    membership: Membership,
    facilitator: User,
    date: dt.date,
    mode: str,
    minutes: int,
    request: HttpRequest | None = None,
) -> OneToOneContact:
    """Record a one-to-one peer contact with a member of the group (1–600 minutes, not in the future)."""
    problems: dict[str, str] = {}
    if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED):
        problems["membership"] = _("Contacts can be recorded only for active or past members of the group.")
    elif not consent_is_active(user=membership.user, organisation=membership.group.organisation):
        problems["membership"] = _("This member has not given current consent, so contacts are not recorded.")
    if not isinstance(minutes, int) or not MIN_CONTACT_MINUTES <= minutes <= MAX_CONTACT_MINUTES:
        problems["minutes"] = _("Minutes must be a whole number from %(min)s to %(max)s.") % {
            "min": MIN_CONTACT_MINUTES,
            "max": MAX_CONTACT_MINUTES,
        }
    if date > timezone.localdate():
        problems["date"] = _("The date of a contact cannot be in the future.")
    if problems:
        raise ValidationError(problems)
    contact = OneToOneContact(membership=membership, facilitator=facilitator, date=date, mode=mode, minutes=minutes)
    contact.full_clean()
    contact.save()
    audit.record(
        Action.CONTACT_RECORDED,
        actor=facilitator,
        organisation=membership.group.organisation,
        obj=contact,
        request=request,
        minutes=minutes,
        mode=mode,
    )
    return contact
