"""Cross-app hooks: a membership that becomes active gets its assessments after commit.

The periodic ``advance_assessments`` job creates any that a lost message missed.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from groups.models import MembershipEvent, MembershipStatus


@receiver(post_save, sender=MembershipEvent)
def assessments_for_new_active_member(sender, instance: MembershipEvent, created: bool, **kwargs) -> None:
    if created and instance.to_status == MembershipStatus.ACTIVE:
        from .tasks import create_assessments

        transaction.on_commit(lambda: create_assessments.delay(instance.membership_id))
