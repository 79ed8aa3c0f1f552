from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Organisation, Role, RoleKind, User, time_zone_choices


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    kind = forms.ChoiceField(label=_("Role"), choices=RoleKind.choices, initial=RoleKind.MEMBER)


class ConsentVersionForm(forms.Form):
    effective_date = forms.DateField(
        label=_("Takes effect on"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Members are asked to accept it again from this date."),
    )
    text = forms.CharField(label=_("Consent text"), widget=forms.Textarea(attrs={"rows": 8}))

    def clean_effective_date(self):
        value = self.cleaned_data["effective_date"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("A new consent version cannot take effect in the past."))
        return value


def zone_field() -> forms.ChoiceField:
    """A time-zone picker: suggested zones first, then common ones, then every place A to Z; a search box above it
    (static/js/zone-search.js) narrows the list as one types."""
    return forms.ChoiceField(
        label=_("Time zone"),
        choices=time_zone_choices,
        widget=forms.Select(attrs={"data-zone-search": "", "data-search-label": _("Search time zones")}),
    )


class ProfileForm(forms.ModelForm):
    time_zone = zone_field()

    class Meta:
        model = User
        fields = [
            "display_name",
            "year_of_birth",
            "preferred_language",
            "time_zone",
            "safeguarding_contact",
            "name_on_public_pages",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.instance
        if not (user.pk and Role.objects.filter(user=user, kind=RoleKind.FACILITATOR).exists()):
            del self.fields["name_on_public_pages"]
        organisations = Organisation.objects.filter(roles__user=user).distinct() if user.pk else []
        self.fields["time_zone"].choices = time_zone_choices(
            first=[user.time_zone, *(org.time_zone for org in organisations)]
        )


class OrganisationSettingsForm(forms.ModelForm):
    """The settings a lead changes on the organisation's settings page (each change audited)."""

    time_zone = zone_field()

    class Meta:
        model = Organisation
        fields = [
            "name",
            "time_zone",
            "crisis_support_text",
            "public_page",
            "public_description",
            "alert_escalation_hours",
            "out_of_hours_contact_name",
            "out_of_hours_contact_email",
            "member_contact_instructions",
            "require_second_factor_for_members",
            "suppression_threshold",
            "erasure_rule",
            "inactive_erasure_months",
            "inactive_erasure_warning_days",
        ]
        widgets = {
            "erasure_rule": forms.RadioSelect,
            "crisis_support_text": forms.Textarea(attrs={"rows": 4}),
            "public_description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = time_zone_choices(first=[self.instance.time_zone])
        # The page always sends these; a post without them (an older form) keeps what is set.
        for name in ("erasure_rule", "inactive_erasure_warning_days"):
            self.fields[name].required = False

    def clean_erasure_rule(self):
        return self.cleaned_data.get("erasure_rule") or self.instance.erasure_rule

    def clean_inactive_erasure_warning_days(self):
        value = self.cleaned_data.get("inactive_erasure_warning_days")
        return self.instance.inactive_erasure_warning_days if value is None else value

    def clean(self):
        data = super().clean()
        if data.get("out_of_hours_contact_email") and not data.get("out_of_hours_contact_name", "").strip():
            self.add_error("out_of_hours_contact_name", _("Name the out-of-hours contact, so staff know who is told."))
        return data


class ErasureRequestForm(forms.Form):
    """A person asks for their data to be erased (``peersupport.datarights.erasure_request``)."""

    reason = forms.CharField(
        label=_("Anything you want the lead to know (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account and my answers will be erased and cannot be brought back"),
        error_messages={"required": _("Tick the box to confirm, or leave this page to keep your data.")},
    )


class ErasureDecisionForm(forms.Form):
    """A lead approves or declines an erasure request; the note is needed to decline (the member is sent it)."""

    decision = forms.ChoiceField(
        choices=[("approve", _("Approve: erase")), ("decline", _("Decline"))],
        widget=forms.RadioSelect,  # nothing chosen until the lead chooses: saving without a choice erases no one
        error_messages={"required": _("Choose to approve or to decline.")},
    )
    note = forms.CharField(
        label=_("Note (sent to the member if you decline)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "decline" and not data.get("note", "").strip():
            self.add_error("note", _("Say why you decline it: the member is e-mailed this note."))
        return data
