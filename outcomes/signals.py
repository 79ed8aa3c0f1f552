"""Cross-app hooks.

- A membership that becomes active gets its assessments after commit (the
  periodic ``advance_assessments`` job creates any that a lost message missed).
- Anything the evaluation figures are computed from marks the cohorts it feeds
  stale, in the same transaction: a response (``outcomes.responses``), a
  membership's change of status, a saved register, a session's change (a
  cancelled session is no longer offered, and the first session decides which
  period cohorts a group is in) and a group's change (its format or
  curriculum decides which cohorts it is in, so every cohort of its organisation
  beyond its own is marked). Sessions that simply start as time passes change
  the attendance dose too; the periodic sweep marks their groups
  (``aggregation.mark_stale_for_sessions_started``).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from groups.models import MembershipEvent, MembershipStatus, SupportGroup
from sessions.models import GroupSession
from sessions.signals import register_saved


@receiver(post_save, sender=MembershipEvent)
def assessments_for_new_active_member(sender, instance: MembershipEvent, created: bool, **kwargs) -> None:
    if created and instance.to_status == MembershipStatus.ACTIVE:
        from .tasks import create_assessments

        transaction.on_commit(lambda: create_assessments.delay(instance.membership_id))


@receiver(post_save, sender=MembershipEvent)
def flow_changed_by_membership(sender, instance: MembershipEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from .aggregation import mark_stale_if_computed

        mark_stale_if_computed(instance.membership.group)


@receiver(register_saved)
def flow_changed_by_register(sender, session: GroupSession, **kwargs) -> None:
    from .aggregation import mark_stale_if_computed

    mark_stale_if_computed(session.group)


@receiver(post_save, sender=GroupSession)
def flow_changed_by_session(sender, instance: GroupSession, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        from .aggregation import mark_stale_if_computed

        mark_stale_if_computed(instance.group, periods=True)


@receiver(post_save, sender=SupportGroup)
def cohorts_changed_by_group(sender, instance: SupportGroup, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        from .aggregation import mark_stale_if_computed

        mark_stale_if_computed(instance, whole_organisation=True)
