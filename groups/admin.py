"""Admin for site operators. Writes that carry rules (enrolment, waiting list) go through the services, so
memberships and their history are read-only here."""

from __future__ import annotations

from django.contrib import admin

from .models import Curriculum, CurriculumUnit, GroupFacilitator, Membership, MembershipEvent, SupportGroup


class CurriculumUnitInline(admin.TabularInline):
    model = CurriculumUnit
    extra = 0


@admin.register(Curriculum)
class CurriculumAdmin(admin.ModelAdmin):
    list_display = ["title", "version", "kind", "organisation", "created_at"]
    list_filter = ["kind", "organisation"]
    search_fields = ["title"]
    readonly_fields = ["family", "created_by", "created_at"]
    inlines = [CurriculumUnitInline]


class GroupFacilitatorInline(admin.TabularInline):
    model = GroupFacilitator
    extra = 0
    raw_id_fields = ["user"]


@admin.register(SupportGroup)
class SupportGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "format", "facilitation", "status", "capacity"]
    list_filter = ["status", "format", "facilitation", "delivery", "audience", "organisation"]
    search_fields = ["name", "enrolment_code"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [GroupFacilitatorInline]


class MembershipEventInline(admin.TabularInline):
    model = MembershipEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "at", "by", "via", "reason", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "status", "joined_at", "left_at"]
    list_filter = ["status", "withdrawal_reason"]
    search_fields = ["user__email", "group__name"]
    inlines = [MembershipEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
