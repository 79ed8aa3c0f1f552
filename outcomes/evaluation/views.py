"""The evaluation page for leads: reads only the summary tables, through the same disclosure control as the exports."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from outcomes.charts import series_chart
from outcomes.evaluation.cohorts import MAX_PERIODS, PeriodLimitReached, period_cohort, quarter_choices
from outcomes.evaluation.disclosure.suppression import threshold_for
from outcomes.evaluation.forms import PeriodForm
from outcomes.evaluation.periods import Period
from outcomes.evaluation.presentation import hidden_reason
from outcomes.evaluation.report import is_hidden, visible_comparisons
from outcomes.evaluation.summary import summary_tables
from outcomes.instruments import registry
from outcomes.models import CohortDimension, CohortState, TimePoint
from peersupport import audit
from peersupport.models import AuditEvent
from peersupport.permissions import Perm, organisation_for

TIME_ORDER = {tp: i for i, tp in enumerate(TimePoint.values)}
TIME_LABELS = dict(TimePoint.choices)


def _mine(rows: list[dict], cohort: CohortState) -> list[dict]:
    return [r for r in rows if r["cohort_dimension"] == cohort.dimension and r["cohort_value"] == cohort.value]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.VIEW_EVALUATION)
    wanted = request.GET.get("cohort", "organisation:")
    quarters = quarter_choices(organisation)
    if request.method == "POST":  # a new range: its cohort is created (and perhaps another evicted)
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
    elif "from_quarter" in request.GET or "to_quarter" in request.GET:
        # A range in a link (pages before this one asked by GET): shown if it exists, never created by a GET.
        period_form = PeriodForm(request.GET, quarters=quarters)
        if period_form.is_valid():
            value = period_form.period.value
            periods = CohortState.objects.filter(organisation=organisation, dimension=CohortDimension.PERIOD)
            if periods.filter(value=value).exists():
                wanted = f"{CohortDimension.PERIOD}:{value}"
            else:
                period_form.add_error(
                    None, _("There are no figures for this range yet: choose “Show these groups” to compute them.")
                )
    else:
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

    titles = {code: defn.title for (code, _v), defn in registry.installed().items()}
    outcomes = defaultdict(list)
    for r in _mine(tables.outcomes, cohort):
        outcomes[(r["instrument"], r["scale"])].append({**r, "label": TIME_LABELS.get(r["time_point"], "")})
    changes = defaultdict(list)
    for r in _mine(tables.changes, cohort):
        changes[(r["instrument"], r["scale"])].append(
            {
                **r,
                "from_label": TIME_LABELS.get(r["from_time_point"], ""),
                "to_label": TIME_LABELS.get(r["to_time_point"], ""),
                "shown": not is_hidden(r["n_pairs"]),
                "reason": hidden_reason(r["n_pairs"]) or hidden_reason(r["mean_change"]),
                "counts_shown": not any(is_hidden(r[key]) for key in ("improved", "unchanged", "deteriorated")),
            }
        )
    instruments = []
    for key in sorted(outcomes, key=lambda kv: (kv[0], kv[1] != "total", kv[1])):
        rows = sorted(outcomes[key], key=lambda r: TIME_ORDER.get(r["time_point"], 99))
        for r in rows:
            r["shown"] = not is_hidden(r["n"]) and not is_hidden(r["mean"]) and r["mean"] is not None
            r["reason"] = hidden_reason(r["n"]) or hidden_reason(r["mean"])
        instruments.append(
            {
                "code": key[0],
                "scale": key[1],
                "title": titles.get(key[0], key[0]),
                "rows": rows,
                # Every time point keeps its place; a hidden one is a gap, never a line across it.
                "chart": series_chart(
                    [(r["label"], r["mean"] if r["shown"] else None) for r in rows],
                    intervals=[(r["ci_low"], r["ci_high"]) if r["shown"] else (None, None) for r in rows],
                ),
                "lower_is_better": any(c["higher_is_better"] is False for c in changes.get(key, [])),
                "chart_id": f"chart-{key[0]}-{key[1]}",
                "changes": sorted(changes.get(key, []), key=lambda c: TIME_ORDER.get(c["to_time_point"], 99)),
            }
        )
    flows = _mine(tables.flows, cohort)
    flow = flows[0] if flows else None
    if flow is not None:
        flow = {
            **flow,
            "dose_shown": flow["dose_median"] is not None and not is_hidden(flow["dose_median"]),
            "assessed": [
                (TIME_LABELS.get(key.removeprefix("assessed_"), key), flow[key])
                for key in flow
                if key.startswith("assessed_") and flow[key] not in (None, 0)
            ],
        }
    context.update(
        {
            "instruments": instruments,
            "flow": flow,
            "flow_shown": flow is not None and not is_hidden(flow["enrolled"]),
            "comparisons": visible_comparisons(organisation, tables) if cohort.dimension == "organisation" else [],
            "titles": titles,
        }
    )
    return render(request, "outcomes/evaluation.html", context)
