from django.contrib import admin

from .models import Attendance, FidelityItem, GroupSession, MemberPreferences, OneToOneContact, SessionLog


@admin.register(GroupSession)
class GroupSessionAdmin(admin.ModelAdmin):
    list_display = ["group", "sequence", "starts_at", "status"]
    list_filter = ["status", "group__organisation"]
    search_fields = ["group__name"]
    raw_id_fields = ["group", "unit"]


@admin.register(FidelityItem)
class FidelityItemAdmin(admin.ModelAdmin):
    list_display = ["organisation", "position", "key", "label", "active"]
    list_filter = ["organisation", "active"]


admin.site.register(Attendance, raw_id_fields=["session", "membership", "recorded_by"])
admin.site.register(SessionLog, raw_id_fields=["session", "facilitator"])
admin.site.register(OneToOneContact, raw_id_fields=["membership", "facilitator"])


@admin.register(MemberPreferences)
class MemberPreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "email_reminders"]
    # The calendar token is a secret: never shown, not even to staff.
    exclude = ["calendar_token"]
    raw_id_fields = ["user"]
