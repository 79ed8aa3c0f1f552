"""Cross-app hooks.

- A membership that becomes active gets its assessments after commit (the
  periodic ``advance_assessments`` job creates any that a lost message missed).
- Anything the evaluation figures are computed from marks the cohorts it feeds
  stale, in the same transaction: a response (``outcomes.questionnaires.responses``), a
  membership's change of status, a saved register, a session's change (a
  cancelled session is no longer offered, and the first session decides which
  period cohorts a group is in) and a group's change (its format or
  curriculum decides which cohorts it is in, so every cohort of its organisation
  beyond its own is marked). Sessions that simply start as time passes change
  the attendance dose too; the periodic sweep marks their groups
  (``aggregation.mark_stale_for_sessions_started``).
- Each group's saved data (``outcomes.evaluation.group_data``) go out of date, in the
  same transaction, whenever a row they are read from is saved or deleted: a
  submitted response, a completed assessment, a membership and its events,
  attendance (one at a time or a whole register) and sessions (one at a time or
  a generated schedule). Unlike the stale marks, this happens whether or not
  the group has figures yet: a group without answers still counts in its
  organisation's participant flow. A change that marks nothing as it happens
  (a delete in the admin, a cascade) is marked from those change rows by the
  next recompute of its organisation or the sweep
  (``aggregation.mark_changed_groups``); a deleted group's own cohort goes.
- A lead's change of the organisation's suppression threshold k (``peersupport.signals.organisation_settings_changed``)
  marks every cohort of the organisation stale: k decides what each table hides.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from groups.models import Membership, MembershipEvent, MembershipStatus, SupportGroup
from outcomes.evaluation import group_data
from outcomes.evaluation.marking import forget_deleted_group, mark_organisation_stale, mark_stale_if_computed
from peersupport.jobs import enqueue
from peersupport.models import Organisation
from peersupport.signals import organisation_settings_changed
from sessions.models import Attendance, GroupSession
from sessions.signals import register_saved, sessions_scheduled

from .models import Assessment, AssessmentStatus, GroupData, GroupDataChange, Response


@receiver(post_save, sender=MembershipEvent)
def assessments_for_new_active_member(sender, instance: MembershipEvent, created: bool, **kwargs) -> None:
    if created and instance.to_status == MembershipStatus.ACTIVE:
        membership_id = instance.membership_id
        transaction.on_commit(lambda: enqueue("outcomes.tasks.create_assessments", membership_id))


@receiver(post_save, sender=MembershipEvent)
def flow_changed_by_membership(sender, instance: MembershipEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        mark_stale_if_computed(instance.membership.group)


@receiver(register_saved)
def flow_changed_by_register(sender, session: GroupSession, **kwargs) -> None:
    mark_stale_if_computed(session.group)


@receiver(post_save, sender=GroupSession)
def flow_changed_by_session(sender, instance: GroupSession, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        mark_stale_if_computed(instance.group, periods=True)


@receiver(post_save, sender=SupportGroup)
def cohorts_changed_by_group(sender, instance: SupportGroup, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        mark_stale_if_computed(instance, whole_organisation=True)


# --- Each group's saved data ------------------------------------------------------------------------


@receiver([post_save, post_delete], sender=Response)
def group_data_changed_by_response(sender, instance: Response, raw: bool = False, **kwargs) -> None:
    if instance.submitted_at is not None and not raw:
        group_data.invalidate_assessment(instance.assessment_id)


@receiver([post_save, post_delete], sender=Assessment)
def group_data_changed_by_assessment(sender, instance: Assessment, raw: bool = False, **kwargs) -> None:
    if instance.status == AssessmentStatus.COMPLETED and not raw:
        group_data.invalidate_membership(instance.membership_id)


@receiver([post_save, post_delete], sender=Membership)
def group_data_changed_by_membership(sender, instance: Membership, raw: bool = False, **kwargs) -> None:
    if not raw:
        group_data.invalidate([instance.group_id])


@receiver([post_save, post_delete], sender=MembershipEvent)
@receiver([post_save, post_delete], sender=Attendance)
def group_data_changed_by_member_row(sender, instance, raw: bool = False, **kwargs) -> None:
    if not raw:
        group_data.invalidate_membership(instance.membership_id)


@receiver([post_save, post_delete], sender=GroupSession)
def group_data_changed_by_session(sender, instance: GroupSession, raw: bool = False, **kwargs) -> None:
    if not raw:
        group_data.invalidate([instance.group_id])


@receiver(register_saved)
def group_data_changed_by_register(sender, session: GroupSession, **kwargs) -> None:
    group_data.invalidate([session.group_id])


@receiver(sessions_scheduled)
def group_data_changed_by_schedule(sender, group: SupportGroup, **kwargs) -> None:
    group_data.invalidate([group.pk])


@receiver(post_delete, sender=SupportGroup)
def group_data_of_deleted_group(sender, instance: SupportGroup, **kwargs) -> None:
    # After the cascade (whose receivers above may have appended changes).
    GroupData.objects.filter(group_id=instance.pk).delete()
    GroupDataChange.objects.filter(group_id=instance.pk).delete()

    forget_deleted_group(instance)


@receiver(organisation_settings_changed, sender=Organisation)
def figures_changed_by_threshold(sender, organisation: Organisation, changed: dict, **kwargs) -> None:
    # k decides what every table hides: all of the organisation's figures are recomputed with the new one.
    if "suppression_threshold" in changed:
        mark_organisation_stale(organisation.pk)
