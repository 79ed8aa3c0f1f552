from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .periods import Period, Quarter


class PeriodForm(forms.Form):
    """A span of calendar quarters in which groups started, chosen on the evaluation page (POST: it creates the
    range's cohort; a GET with the same fields only shows a range that exists)."""

    from_quarter = forms.ChoiceField(
        label=_("Groups starting from"),
        error_messages={
            "required": _("Choose the first quarter."),
            "invalid_choice": _("Choose the first quarter from the list (a quarter from %(first)s to %(last)s)."),
        },
    )
    to_quarter = forms.ChoiceField(
        label=_("to"),
        error_messages={
            "required": _("Choose the last quarter."),
            "invalid_choice": _("Choose the last quarter from the list (a quarter from %(first)s to %(last)s)."),
        },
    )

    def __init__(self, *args, quarters, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(q), q.label) for q in quarters]
        span = {"first": quarters[0].label, "last": quarters[-1].label}
        for name in ("from_quarter", "to_quarter"):
            field = self.fields[name]
            field.choices = choices
            field.error_messages["invalid_choice"] = field.error_messages["invalid_choice"] % span
        self.period = None

    def clean(self):
        cleaned = super().clean()
        first, last = Quarter.parse(cleaned.get("from_quarter", "")), Quarter.parse(cleaned.get("to_quarter", ""))
        if first is None or last is None:
            return cleaned
        if last < first:
            raise forms.ValidationError(
                _("%(first)s is after %(last)s: choose the earlier quarter first."),
                code="reversed",
                params={"first": first.label, "last": last.label},
            )
        self.period = Period(first, last)
        return cleaned


class ReliableChangeBaselineForm(forms.Form):
    """A lead's new SD₁ for one frozen baseline, with the reason kept beside it."""

    baseline = forms.IntegerField(widget=forms.HiddenInput)
    sd = forms.FloatField(
        label=_("New SD₁"), min_value=0.000001, error_messages={"min_value": _("SD₁ must be above 0.")}
    )
    note = forms.CharField(
        label=_("Why"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Kept with the value and in the audit trail, e.g. the published source of the SD."),
    )
