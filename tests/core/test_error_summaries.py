"""A form's error summary is announced by screen readers as it appears (role="alert")."""

from __future__ import annotations

import re

from django import forms
from django.template import Context, Template


class _Booking(forms.Form):
    starts = forms.IntegerField()
    ends = forms.IntegerField()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("ends", 0) <= cleaned.get("starts", 0):
            raise forms.ValidationError("The end must come after the start.")
        return cleaned


def test_the_summary_of_a_crispy_forms_errors_is_an_alert():
    form = _Booking({"starts": "5", "ends": "2"})
    assert not form.is_valid()
    html = Template("{% load crispy_forms_tags %}{{ form|crispy }}").render(Context({"form": form}))
    summary = re.search(r'<div class="alert[^"]*" role="alert">(.*?)</div>', html, re.S)
    assert summary and "The end must come after the start." in summary.group(1)


def test_a_formsets_error_summary_is_an_alert():
    formset = forms.formset_factory(_Booking, min_num=2, validate_min=True)(
        {"form-TOTAL_FORMS": "0", "form-INITIAL_FORMS": "0"}
    )
    assert not formset.is_valid()
    html = Template("{% load crispy_forms_tags %}{% crispy formset %}").render(Context({"formset": formset}))
    assert re.search(r'<div class="alert[^"]*" role="alert">', html)
