from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import Anchor, TimePoint

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class InstrumentTextForm(forms.Form):
    """The licensed wording, one field per item and per unlabelled answer option."""

    licence_declaration = forms.CharField(
        label=_("Licence"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who holds the licence and its reference. By saving you confirm the wording is unaltered."),
    )
    instructions = forms.CharField(label=_("Instructions"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, definition: InstrumentDefinition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for item in definition.items:
            if item.text is None:
                self.fields[f"item_{item.key}"] = forms.CharField(
                    label=_("Item %(n)s") % {"n": item.number}, max_length=1000, widget=forms.TextInput()
                )
        seen = set()
        for item in definition.items:
            option_set = item.options
            if option_set.name in seen:
                continue
            seen.add(option_set.name)
            for option in option_set.choices:
                if option.label is None:
                    self.fields[f"option_{option_set.name}_{option.value}"] = forms.CharField(
                        label=_("Answer worth %(v)s (%(set)s)") % {"v": option.value, "set": option_set.name},
                        max_length=200,
                    )

    def items(self) -> dict[str, str]:
        return {
            item.key: self.cleaned_data[f"item_{item.key}"].strip()
            for item in self.definition.items
            if f"item_{item.key}" in self.cleaned_data
        }

    def option_labels(self) -> dict[str, dict[str, str]]:
        labels: dict[str, dict[str, str]] = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("option_"):
                set_name, _sep, option_value = name[len("option_") :].rpartition("_")
                labels.setdefault(set_name, {})[option_value] = value.strip()
        return labels


class PlanForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=160)
    target = forms.ChoiceField(label=_("For"), help_text=_("A group, or a curriculum (all groups running it)."))

    def __init__(self, *args, targets: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = targets


class TimePointForm(forms.Form):
    time_point = forms.ChoiceField(label=_("Time point"), choices=TimePoint.choices)
    anchor = forms.ChoiceField(label=_("Counted from"), choices=Anchor.choices)
    opens_days = forms.IntegerField(label=_("Opens (days after; negative for before)"), min_value=-365, max_value=730)
    closes_days = forms.IntegerField(label=_("Closes (days after)"), min_value=-364, max_value=1095)
    instruments = forms.MultipleChoiceField(label=_("Questionnaires"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, instruments: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instruments"].choices = instruments

    def clean(self):
        data = super().clean()
        opens, closes = data.get("opens_days"), data.get("closes_days")
        if opens is not None and closes is not None and closes <= opens:
            self.add_error("closes_days", _("The window must close after it opens."))
        return data


class PrimaryOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Primary outcome"))
    reason = forms.CharField(
        label=_("Why (needed when changing it, or once a follow-up has opened)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = choices


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"), help_text=_("UTF-8 CSV with the columns above (“CSV UTF-8” in a spreadsheet).")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.")) from exc
