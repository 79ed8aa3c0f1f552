"""Forms for sessions. They check input shape; the rules live in services and recurrence."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from groups.models import Membership

from . import recurrence
from .models import AttendanceStatus, ContactMode
from .services import MAX_CONTACT_MINUTES, MIN_CONTACT_MINUTES

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def _date_widget():
    return forms.DateInput(attrs={"type": "date"})


class ConfirmOverlapMixin(forms.Form):
    confirm_overlap = forms.BooleanField(
        label=_("I know a facilitator has another session at this time: save anyway"), required=False
    )


class ScheduleRuleForm(ConfirmOverlapMixin):
    interval_weeks = forms.TypedChoiceField(
        label=_("How often"),
        choices=[(recurrence.WEEKLY, _("Every week")), (recurrence.FORTNIGHTLY, _("Every other week"))],
        coerce=int,
        initial=recurrence.WEEKLY,
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("On"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    start_date = forms.DateField(label=_("First possible date"), widget=_date_widget())
    local_time = forms.TimeField(label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.IntegerField(
        label=_("Length (minutes)"),
        initial=90,
        min_value=recurrence.MIN_DURATION_MINUTES,
        max_value=recurrence.MAX_DURATION_MINUTES,
    )
    count = forms.IntegerField(
        label=_("Number of sessions"),
        required=False,
        help_text=_("From 1 to %(max)s. Or leave empty and give an end date.") % {"max": recurrence.MAX_SESSIONS},
    )
    until = forms.DateField(label=_("Or: last date"), required=False, widget=_date_widget())
    skip_dates = forms.CharField(
        label=_("Dates to skip"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One date per line or separated by commas, as YYYY-MM-DD (e.g. bank holidays)."),
    )

    def __init__(self, *args, time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.fields["local_time"].help_text = _("In the group's time zone, %(tz)s.") % {"tz": time_zone}

    def clean_weekdays(self):
        days = self.cleaned_data["weekdays"]
        if not days:
            raise forms.ValidationError(_("Choose at least one day of the week."))
        return days

    def clean_skip_dates(self):
        raw = self.cleaned_data["skip_dates"].replace(",", "\n")
        dates = set()
        for part in filter(None, (p.strip() for p in raw.splitlines())):
            try:
                dates.add(dt.date.fromisoformat(part))
            except ValueError as exc:
                raise forms.ValidationError(
                    _("“%(value)s” is not a date. Write dates as YYYY-MM-DD, e.g. 2025-12-25.") % {"value": part}
                ) from exc
        return frozenset(dates)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        rule = self.rule()
        try:
            recurrence.validate(rule)
        except recurrence.RecurrenceError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return data

    def rule(self) -> recurrence.Rule:
        data = self.cleaned_data
        return recurrence.Rule(
            start_date=data["start_date"],
            weekdays=frozenset(data["weekdays"]),
            local_time=data["local_time"],
            time_zone=self.time_zone,
            duration_minutes=data["duration_minutes"],
            interval_weeks=data["interval_weeks"],
            count=data.get("count"),
            until=data.get("until"),
            skip_dates=data.get("skip_dates") or frozenset(),
        )


class SessionChangeForm(ConfirmOverlapMixin):
    date = forms.DateField(label=_("Date"), widget=_date_widget())
    local_time = forms.TimeField(label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}))
    duration_minutes = forms.IntegerField(
        label=_("Length (minutes)"),
        min_value=recurrence.MIN_DURATION_MINUTES,
        max_value=recurrence.MAX_DURATION_MINUTES,
    )
    location = forms.CharField(label=_("Place, if different from the group's"), max_length=255, required=False)
    online_url = forms.URLField(
        label=_("Online link, if different from the group's"), required=False, assume_scheme="https"
    )

    def __init__(self, *args, time_zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone
        self.fields["local_time"].help_text = _("In the group's time zone, %(tz)s.") % {"tz": time_zone}

    def times(self) -> tuple[dt.datetime, dt.datetime]:
        data = self.cleaned_data
        starts_at = recurrence.to_utc(data["date"], data["local_time"], self.time_zone)
        return starts_at, starts_at + dt.timedelta(minutes=data["duration_minutes"])


class CancelForm(forms.Form):
    note = forms.CharField(
        label=_("Message to members (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent with the notice, e.g. why, or what to do instead."),
        max_length=1000,
    )


class RegisterForm(forms.Form):
    """One radio group per member. Field names are ``m<membership id>``."""

    def __init__(self, *args, rows, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            if not row.consenting:
                continue
            self.fields[f"m{row.membership.pk}"] = forms.ChoiceField(
                label=row.membership.user.name,
                choices=AttendanceStatus.choices,
                widget=forms.RadioSelect,
                required=False,
                initial=row.status or None,
            )

    def statuses(self) -> dict[int, str]:
        return {int(name[1:]): value for name, value in self.cleaned_data.items() if value}


class SessionLogForm(forms.Form):
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Short, and about the session, not about individuals' health."),
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            self.fields[f"fidelity_{item.key}"] = forms.BooleanField(label=item.label, required=False)

    def fidelity(self) -> dict[str, bool]:
        return {item.key: bool(self.cleaned_data.get(f"fidelity_{item.key}")) for item in self.items}


class ContactForm(forms.Form):
    membership = forms.ModelChoiceField(label=_("Member"), queryset=Membership.objects.none())
    date = forms.DateField(label=_("Date"), widget=_date_widget(), initial=timezone.localdate)
    mode = forms.ChoiceField(label=_("How"), choices=ContactMode.choices)
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=MIN_CONTACT_MINUTES,
        max_value=MAX_CONTACT_MINUTES,
        help_text=_("From %(min)s to %(max)s.") % {"min": MIN_CONTACT_MINUTES, "max": MAX_CONTACT_MINUTES},
    )

    def __init__(self, *args, memberships, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = memberships
        self.fields["membership"].label_from_instance = lambda m: m.user.name


class FidelityItemForm(forms.Form):
    label = forms.CharField(label=_("Wording"), max_length=200)
    position = forms.IntegerField(label=_("Order"), min_value=0, max_value=10000)
    active = forms.BooleanField(label=_("In use"), required=False)


class NewFidelityItemForm(forms.Form):
    new_label = forms.CharField(label=_("Add an item"), max_length=200, required=False)


class RemindersForm(forms.Form):
    email_reminders = forms.BooleanField(label=_("E-mail me the day before a session"), required=False)
