from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import audit, services
from .models import (
    AuditEvent,
    ConsentDecision,
    ConsentVersion,
    ErasureRequest,
    Invitation,
    Organisation,
    OutboxMessage,
    Role,
    User,
)
from .signals import organisation_settings_changed

# Staff changes in the admin are audited like the same change made on the site: one row per role granted or
# removed, one per save of an organisation's or a user's settings naming each changed field (old and new).
# Roles are never edited in place: a different role is a removal and a grant.


def _changes(form, fields=None) -> dict:
    changed = {}
    for name in form.changed_data:
        if fields is not None and name not in fields or name in {"password"}:
            continue
        old, new = form.initial.get(name), form.cleaned_data.get(name)
        changed[name] = [_plain(old), _plain(new)]
    return changed


def _plain(value):
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, (list, tuple, set)) or hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return sorted(_plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class RoleAuditMixin:
    """Grants and removals through the admin go through the services, which audit them."""

    def _grant(self, request, role: Role) -> None:
        granted = services.role_grant(
            user=role.user, organisation=role.organisation, kind=role.kind, by=request.user, request=request
        )
        role.pk, role.granted_at = granted.pk, granted.granted_at
        role._state.adding = False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "display_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["display_name", "year_of_birth", "preferred_language", "time_zone"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and (changed := _changes(form, STAFF_FIELDS)):
            audit.record(
                AuditEvent.Action.USER_PERMISSIONS_CHANGED,
                actor=request.user,
                obj=obj,
                request=request,
                changed=changed,
            )


# The user fields that grant powers: a change to any of them is audited.
STAFF_FIELDS = {"is_active", "is_staff", "is_superuser", "groups", "user_permissions"}


class RoleInline(admin.TabularInline):
    model = Role
    extra = 0
    autocomplete_fields = ["user"]

    def has_change_permission(self, request, obj=None):
        return False  # existing roles are shown read-only: remove one and add another


@admin.register(Organisation)
class OrganisationAdmin(RoleAuditMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [RoleInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and (changed := _changes(form)):
            audit.record(
                AuditEvent.Action.ORGANISATION_SETTINGS_CHANGED,
                actor=request.user,
                organisation=obj,
                obj=obj,
                request=request,
                changed=changed,
                via="admin",
            )
            organisation_settings_changed.send(sender=Organisation, organisation=obj, changed=changed)

    def save_formset(self, request, form, formset, change):
        if formset.model is not Role:
            return super().save_formset(request, form, formset, change)
        roles = formset.save(commit=False)
        for role in formset.deleted_objects:
            services.role_remove(role=role, by=request.user, request=request)
        for role in roles:
            if role._state.adding:
                self._grant(request, role)
        formset.save_m2m()


@admin.register(Role)
class RoleAdmin(RoleAuditMixin, admin.ModelAdmin):
    list_display = ["user", "organisation", "kind", "granted_at"]
    list_filter = ["organisation", "kind"]
    search_fields = ["user__email"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "organisation", "kind"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            self._grant(request, obj)

    def delete_model(self, request, obj):
        services.role_remove(role=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for role in queryset.select_related("user", "organisation"):
            services.role_remove(role=role, by=request.user, request=request)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "kind", "created_at", "expires_at", "used_at"]
    list_filter = ["organisation", "kind"]
    readonly_fields = ["used_at", "used_by"]


@admin.register(ConsentVersion)
class ConsentVersionAdmin(admin.ModelAdmin):
    list_display = ["organisation", "version", "effective_date"]
    list_filter = ["organisation"]

    def has_change_permission(self, request, obj=None):
        # Accepted consent text must stay exactly as members read it.
        return obj is None or not obj.decisions.exists()


@admin.register(ConsentDecision)
class ConsentDecisionAdmin(admin.ModelAdmin):
    list_display = ["user", "consent_version", "action", "at"]
    list_filter = ["action", "consent_version__organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    """Read-only: a lead decides a request on the organisation's Erasure requests page (audited, and the last
    approval carries the erasure out)."""

    list_display = ["requested_at", "organisation", "user", "status", "decided_at", "erased_at"]
    list_filter = ["status", "organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "action",
        "actor",
        "actor_ref",
        "organisation",
        "object_type",
        "object_id",
        "ip_address",
        "chain_seq",
    ]
    list_filter = ["action", "organisation"]
    # actor_ref finds a deleted or erased user's rows by their pseudonym (peersupport.audit.actor_reference).
    search_fields = ["actor__email", "actor_ref", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """What is waiting to go out, and why it has not (read-only: delivery is the outbox's job)."""

    list_display = ["created_at", "kind", "recipient", "status", "attempts", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "kind"]
    search_fields = ["recipient", "subject_id"]
    exclude = ["payload"]  # message bodies can carry personal details; the list says enough to act on

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
