"""Input for curricula, groups and enrolment. Rules live in the models and services; forms show their messages."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from peersupport.forms import zone_field
from peersupport.models import Organisation, User, time_zone_choices

from . import selectors
from .models import (
    Curriculum,
    Facilitation,
    GroupStatus,
    SupportGroup,
    WithdrawalReason,
)
from .services import curricula as curriculum_services
from .services import groups as group_services
from .services import membership as membership_services

MAX_UNITS = 40
MAX_CAPACITY = 500


class CurriculumForm(forms.ModelForm):
    class Meta:
        model = Curriculum
        fields = ["kind", "title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class UnitForm(forms.Form):
    title = forms.CharField(label=_("Unit title"), max_length=160)
    topics = forms.CharField(label=_("Topics"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    duration_minutes = forms.IntegerField(
        label=_("Planned duration (minutes)"),
        min_value=curriculum_services.MIN_UNIT_MINUTES,
        max_value=curriculum_services.MAX_UNIT_MINUTES,
        initial=90,
    )

    def spec(self) -> curriculum_services.UnitSpec:
        data = self.cleaned_data
        return curriculum_services.UnitSpec(data["title"], data.get("topics", ""), data["duration_minutes"])


class BaseUnitFormSet(forms.BaseFormSet):
    default_error_messages = {
        **forms.BaseFormSet.default_error_messages,
        "too_few_forms": _("Add at least one unit: give it a title and a duration."),
        "too_many_forms": _("A curriculum has at most %(num)d units."),
    }

    def units(self) -> list[curriculum_services.UnitSpec]:
        """The units in the order the lead gave (Position), without deleted or blank rows."""
        return [form.spec() for form in self.ordered_forms]


def unit_formset(data=None, *, curriculum: Curriculum | None = None, extra: int | None = None) -> BaseUnitFormSet:
    """Units of a curriculum: the existing ones (for a new version) and some empty rows to fill."""
    initial = None
    if curriculum is not None:
        initial = [
            {"title": u.title, "topics": u.topics, "duration_minutes": u.duration_minutes, "ORDER": u.position}
            for u in curriculum.units.order_by("position")
        ]
    formset_class = forms.formset_factory(
        UnitForm,
        formset=BaseUnitFormSet,
        extra=extra if extra is not None else (3 if initial else 10),
        can_order=True,
        can_delete=True,
        min_num=1,
        validate_min=True,
        max_num=MAX_UNITS,
        validate_max=True,
    )
    formset = formset_class(data, initial=initial, prefix="units")
    for form in formset:
        form.fields["ORDER"].label = _("Position")
        form.fields["DELETE"].label = _("Remove this unit")
    return formset


def with_more_unit_rows(data, rows: int = 5):
    """The posted data with ``rows`` more empty unit rows (the "more rows" button, no JavaScript needed)."""
    data = data.copy()
    total = int(data.get("units-TOTAL_FORMS") or 0)
    data["units-TOTAL_FORMS"] = str(min(total + rows, MAX_UNITS))
    return data


class SupportGroupForm(forms.ModelForm):
    time_zone = zone_field()
    online_url = forms.URLField(label=_("Online meeting link"), required=False, max_length=200, assume_scheme="https")
    facilitators = forms.ModelMultipleChoiceField(
        label=_("Facilitators"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("1 to 3 for a peer-led group; none for a peer-to-peer group."),
    )

    class Meta:
        model = SupportGroup
        fields = [
            "name",
            "description",
            "format",
            "curriculum",
            "facilitation",
            "facilitators",
            "delivery",
            "location",
            "online_url",
            "phone_details",
            "audience",
            "capacity",
            "time_zone",
            "open_to_requests",
            "listed_publicly",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organisation: Organisation, user: User, is_lead: bool, **kwargs):
        instance = kwargs.get("instance") or SupportGroup(organisation=organisation, time_zone=organisation.time_zone)
        kwargs["instance"] = instance
        if instance.pk and "initial" not in kwargs:
            kwargs["initial"] = {"facilitators": list(instance.facilitators.all())}
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        self.user = user
        self.is_lead = is_lead
        self.fields["time_zone"].choices = time_zone_choices(first=[organisation.time_zone, instance.time_zone])
        self.fields["curriculum"].queryset = Curriculum.objects.filter(organisation=organisation).order_by(
            "title", "-version"
        )
        self.fields["curriculum"].help_text = _("Structured groups only. The group keeps this version.")
        self.fields["facilitators"].queryset = selectors.facilitator_choices(organisation)
        self.fields["capacity"].min_value = 1
        self.fields["capacity"].widget.attrs.update({"min": 1, "max": MAX_CAPACITY})
        if not is_lead:
            # A facilitator creates and edits only groups they facilitate, so never a peer-to-peer one.
            self.fields["facilitation"].choices = [(Facilitation.PEER_LED, Facilitation.PEER_LED.label)]
            self.fields["facilitators"].help_text = _("You are always one of them. Add up to two co-facilitators.")

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if not 1 <= capacity <= MAX_CAPACITY:
            raise ValidationError(_("Choose between 1 and %(max)s places.") % {"max": MAX_CAPACITY})
        return capacity

    def clean_facilitators(self):
        people = list(self.cleaned_data.get("facilitators") or [])
        if not self.is_lead and self.user.pk not in {u.pk for u in people}:
            people.append(self.user)
        return people

    def clean(self):
        data = super().clean()
        facilitation = data.get("facilitation")
        if facilitation and "facilitators" in data:
            try:
                group_services.validate_facilitators(
                    organisation=self.organisation, facilitation=facilitation, facilitators=data["facilitators"]
                )
            except ValidationError as exc:
                self.add_error(None if "facilitators" not in self.fields else "facilitators", exc.messages)
        return data

    def group_fields(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name in group_services.GROUP_FIELDS}


class GroupStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Change the status to"))

    def __init__(self, *args, group: SupportGroup, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(GroupStatus.choices)
        self.fields["status"].choices = [(s, labels[s]) for s in group_services.next_statuses(group)]


class JoinCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Enrolment code"),
        max_length=20,
        help_text=_("The 8 letters and numbers your facilitator gave you."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class WithdrawForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you leaving? (optional)"),
        choices=[("", _("I would rather not choose"))] + list(WithdrawalReason.choices),
        required=False,
    )
    note = forms.CharField(
        label=_("Anything you would like to tell the facilitators (optional)"),
        required=False,
        max_length=membership_services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeclineForm(forms.Form):
    note = forms.CharField(
        label=_("A note to the member (optional)"),
        required=False,
        max_length=membership_services.MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class FrontDoorForm(forms.Form):
    """Joining (or asking to join) from the front door: the organisation's consent, and a year of birth for a
    youth group when the profile has none."""

    accept = forms.BooleanField(label=_("I have read this and I agree"), required=False)
    year_of_birth = forms.IntegerField(
        label=_("Your year of birth"),
        min_value=1900,
        max_value=2100,
        required=False,
        help_text=_("This group is for young people aged 14 to 24. We use it only to check that."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "bday-year"}),
    )

    def __init__(self, *args, consent_needed: bool, year_needed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not consent_needed:
            del self.fields["accept"]
        if not year_needed:
            del self.fields["year_of_birth"]
        else:
            self.fields["year_of_birth"].required = True
            self.fields["year_of_birth"].error_messages["required"] = _("Enter your year of birth, e.g. 2008.")

    def clean_accept(self):
        if not self.cleaned_data.get("accept"):
            raise forms.ValidationError(_("Tick the box to say you agree, or leave this page if you do not."))
        return True
