"""The audit trail: append-only rows of who did what, to which object, when and from where (written by
``peersupport.audit``'s helpers, chained by ``seal_pending``). Re-exported by ``peersupport.models``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events are append-only.")

    def delete(self):
        raise PermissionError("Audit events are append-only.")


class AuditActionField(models.CharField):
    """An audit row's action. Its choices (``AuditEvent.Action``) are checked by the model and shown by the admin,
    but left out of migrations: naming a new action needs no migration (and parallel work never conflicts in one)."""

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("choices", None)
        # The migrations name it where it was first defined (and where it is still imported from).
        return name, "peersupport.models.AuditActionField", args, kwargs


class AuditEvent(models.Model):
    """Append-only record of who did what, to which object, when and from where."""

    class Action(models.TextChoices):
        SIGN_IN = "signed_in", _("Signed in")
        SIGN_IN_FAILED = "sign_in_failed", _("Failed sign-in")
        SIGN_IN_LOCKED_OUT = "sign_in_locked_out", _("Sign-in refused after too many failures")
        CONSENT_GIVEN = "consent_given", _("Consent given")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
        ROLE_GRANTED = "role_granted", _("Role granted")
        ROLE_REMOVED = "role_removed", _("Role removed")
        USER_PERMISSIONS_CHANGED = "user_permissions_changed", _("Staff status or permissions changed")
        INVITATION_SENT = "invitation_sent", _("Invitation sent")
        INVITATION_USED = "invitation_used", _("Invitation used")
        CONSENT_VERSION_PUBLISHED = "consent_version_published", _("Consent version published")
        ORGANISATION_SETTINGS_CHANGED = "organisation_settings_changed", _("Organisation settings changed")
        RISK_ALERT_ESCALATED = "risk_alert_escalated", _("Risk alert escalated")
        # Groups (groups.services.Action)
        CURRICULUM_CREATED = "curriculum_created", _("Curriculum created")
        CURRICULUM_VERSION_PUBLISHED = "curriculum_version_published", _("Curriculum version published")
        GROUP_CREATED = "group_created", _("Group created")
        GROUP_UPDATED = "group_updated", _("Group changed")
        GROUP_STATUS_CHANGED = "group_status_changed", _("Group status changed")
        GROUP_CODE_RENEWED = "group_code_renewed", _("Group enrolment code renewed")
        MEMBERSHIP_CHANGED = "membership_changed", _("Group membership changed")
        # Sessions (sessions.services.Action)
        SESSION_SCHEDULE_GENERATED = "session_schedule_generated", _("Session schedule generated")
        SESSION_CHANGED = "session_changed", _("Session changed")
        SESSION_CANCELLED = "session_cancelled", _("Session cancelled")
        SESSION_ATTENDANCE_RECORDED = "session_attendance_recorded", _("Attendance recorded")
        SESSION_LOG_SAVED = "session_log_saved", _("Session log saved")
        ONE_TO_ONE_CONTACT_RECORDED = "one_to_one_contact_recorded", _("One-to-one contact recorded")
        FIDELITY_ITEMS_CHANGED = "fidelity_items_changed", _("Fidelity checklist changed")
        CALENDAR_TOKEN_CREATED = "calendar_token_created", _("Calendar feed created")
        CALENDAR_TOKEN_REVOKED = "calendar_token_revoked", _("Calendar feed revoked")
        SESSION_APOLOGIES_SENT = "session_apologies_sent", _("Apologies sent for a session")
        SESSION_APOLOGIES_TAKEN_BACK = "session_apologies_taken_back", _("Apologies for a session taken back")
        # Outcomes
        RESPONSES_VIEWED = "responses_viewed", _("Answers viewed")
        EVALUATION_VIEWED = "evaluation_viewed", _("Evaluation figures viewed")
        RESPONSES_IMPORTED = "responses_imported", _("Answers imported")
        ROSTER_IMPORTED = "roster_imported", _("Roster imported")
        MEASUREMENT_PLAN_CREATED = "measurement_plan_created", _("Measurement plan created")
        PLAN_TIME_POINT_ADDED = "plan_time_point_added", _("Time point added to a plan")
        PLAN_TIME_POINT_REMOVED = "plan_time_point_removed", _("Time point removed from a plan")
        INSTRUMENT_TEXT_SAVED = "instrument_text_saved", _("Licensed wording saved")
        RISK_ALERT_ACKNOWLEDGED = "risk_alert_acknowledged", _("Risk alert acknowledged")
        EVALUATION_PERIOD_ADDED = "evaluation_period_added", _("Evaluation period added")
        RELIABLE_CHANGE_SD_FROZEN = "reliable_change_sd_frozen", _("Reliable-change SD frozen from the baseline")
        RELIABLE_CHANGE_SD_CHANGED = "reliable_change_sd_changed", _("Reliable-change SD changed by a lead")
        PRIMARY_OUTCOME_NAMED = "primary_outcome_named", _("Primary outcome named")
        EXPORT = "data_exported", _("Data exported")
        # Data subject rights (peersupport.datarights)
        PERSONAL_DATA_DOWNLOADED = "personal_data_downloaded", _("A person downloaded their own data")
        ERASURE_REQUESTED = "erasure_requested", _("Erasure requested")
        ERASURE_REQUEST_APPROVED = "erasure_request_approved", _("Erasure request approved")
        ERASURE_REQUEST_DECLINED = "erasure_request_declined", _("Erasure request declined")
        ACCOUNT_ERASED = "account_erased", _("Account erased")
        INACTIVE_ACCOUNT_WARNED = "inactive_account_warned", _("Warned of erasure for inactivity")

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = AuditActionField(max_length=40, choices=Action.choices)
    organisation = models.ForeignKey(
        "peersupport.Organisation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Kept when the user or the organisation is deleted (their links above are then set to NULL): a stable
    # pseudonym of the actor (peersupport.audit.actor_reference) and the organisation's id.
    actor_ref = models.CharField(max_length=40, blank=True, db_index=True)
    organisation_ref = models.CharField(max_length=20, blank=True)
    # The hash chain (peersupport.audit.seal_pending, checked by `manage.py verify_audit`): the row's place in the
    # chain, the previous row's hash and the hash of this row's content with it. Set once, just after commit.
    chain_seq = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events are append-only.")
