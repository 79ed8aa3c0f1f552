"""The evaluation page for leads: reads only the summary tables, through the same disclosure control as the exports."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from outcomes.evaluation import page, reliable_change
from outcomes.evaluation.cohorts import MAX_PERIODS, PeriodLimitReached, period_cohort, quarter_choices
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.forms import PeriodForm, ReliableChangeBaselineForm
from outcomes.evaluation.periods import Period
from outcomes.evaluation.summary import summary_tables
from outcomes.models import CohortDimension, CohortState, ReliableChangeBaseline
from peersupport import audit
from peersupport.models import AuditEvent, Organisation
from peersupport.permissions import Perm, can, organisation_for


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    """One cohort's figures (GET), or a new date range asked for (POST: created, then shown by a redirect)."""
    organisation = organisation_for(request, slug, Perm.VIEW_EVALUATION)
    quarters = quarter_choices(organisation)
    if request.method == "POST":
        return _ask_for_range(request, organisation, quarters)
    return _show(request, organisation, quarters, period_form=None)


def _ask_for_range(request: HttpRequest, organisation: Organisation, quarters) -> HttpResponse:
    """A new range: its cohort is created (and perhaps another evicted), then the page shows it."""
    period_form = PeriodForm(request.POST, quarters=quarters)
    if period_form.is_valid():
        try:
            state, _created = period_cohort(organisation, period_form.period, by=request.user)
        except PeriodLimitReached:
            period_form.add_error(
                None,
                _(
                    "The figures of all %(n)s date ranges kept for this organisation are being computed just now, "
                    "so none can make room for another. Try again in a minute."
                )
                % {"n": MAX_PERIODS},
            )
        else:
            query = urlencode({"cohort": f"{state.dimension}:{state.value}"})
            return redirect(f"{reverse('outcomes:evaluation', args=[organisation.slug])}?{query}")
    return _show(request, organisation, quarters, period_form=period_form)


def _range_from_link(request: HttpRequest, organisation: Organisation, quarters) -> tuple[PeriodForm, str | None]:
    """A range in a link (pages before this one asked by GET): shown if it exists, never created by a GET."""
    period_form = PeriodForm(request.GET, quarters=quarters)
    if not period_form.is_valid():
        return period_form, None
    value = period_form.period.value
    if CohortState.objects.filter(organisation=organisation, dimension=CohortDimension.PERIOD, value=value).exists():
        return period_form, f"{CohortDimension.PERIOD}:{value}"
    period_form.add_error(
        None, _("There are no figures for this range yet: choose “Show these groups” to compute them.")
    )
    return period_form, None


def _show(
    request: HttpRequest, organisation: Organisation, quarters, *, period_form: PeriodForm | None
) -> HttpResponse:
    wanted = request.GET.get("cohort", "organisation:")
    if period_form is None and ("from_quarter" in request.GET or "to_quarter" in request.GET):
        period_form, linked = _range_from_link(request, organisation, quarters)
        wanted = linked or wanted
    elif period_form is None:
        # Show the chosen period's quarters, or the whole span the organisation has.
        chosen = Period.parse(wanted.removeprefix(f"{CohortDimension.PERIOD}:"))
        first, last = (chosen.first, chosen.last) if chosen else (quarters[0], quarters[-1])
        period_form = PeriodForm(initial={"from_quarter": str(first), "to_quarter": str(last)}, quarters=quarters)
    cohorts = list(CohortState.objects.filter(organisation=organisation).order_by("dimension", "label"))
    cohort = next((c for c in cohorts if f"{c.dimension}:{c.value}" == wanted), None)
    if cohort is None:
        cohort = next((c for c in cohorts if c.dimension == "organisation"), None)
    context = {
        "organisation": organisation,
        "cohorts": cohorts,
        "cohort": cohort,
        "period_form": period_form,
        "instruments": [],
    }
    if cohort is not None and cohort.computed_at is None:
        # Never computed yet (a date range just asked for): no figures to read, say so instead of empty tables.
        context.update({"computing": True, "k": threshold_for(organisation)})
        return render(request, "outcomes/evaluation.html", context)
    tables = summary_tables(organisation)
    context["k"] = tables.k
    if cohort is None:
        return render(request, "outcomes/evaluation.html", context)
    audit.record(
        AuditEvent.Action.EVALUATION_VIEWED,
        actor=request.user,
        organisation=organisation,
        obj=cohort,
        request=request,
        cohort=f"{cohort.dimension}:{cohort.value}",
    )
    context.update(page.cohort_sections(organisation, tables, cohort))
    context["perms_lead"] = can(request.user, organisation, Perm.MANAGE_ORGANISATION)
    return render(request, "outcomes/evaluation.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reliable_change_parameters(request: HttpRequest, slug: str) -> HttpResponse:
    """The reliable-change parameters of each instrument (docs/statistics.md §4); a lead may change a frozen SD₁."""
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    form = ReliableChangeBaselineForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        baseline = ReliableChangeBaseline.objects.filter(
            pk=form.cleaned_data["baseline"], organisation=organisation
        ).first()
        if baseline is None:
            raise Http404("No such baseline.")
        try:
            reliable_change.baseline_change(
                baseline=baseline,
                sd=form.cleaned_data["sd"],
                note=form.cleaned_data["note"],
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("SD₁ changed. Every figure of the organisation is being recomputed with it."))
            return redirect("outcomes:reliable_change", organisation.slug)
    return render(
        request,
        "outcomes/lead/reliable_change.html",
        {
            "organisation": organisation,
            "rows": reliable_change.overview(organisation),
            "form": form,
            "min_scores": reliable_change.MIN_BASELINE_SCORES,
            "stale": CohortState.objects.filter(organisation=organisation, stale=True).exists(),
        },
    )
