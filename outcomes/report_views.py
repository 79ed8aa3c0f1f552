"""The evaluation page for leads: reads only the summary tables, so it stays fast."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from peersupport.permissions import Perm, organisation_for

from .charts import series_chart
from .definitions import load_all
from .models import ChangeSummary, CohortState, OutcomeSummary, TimePoint
from .report import threshold

TIME_ORDER = {tp: i for i, tp in enumerate(TimePoint.values)}


@login_required
def evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.VIEW_EVALUATION)
    k = threshold(organisation)
    cohorts = list(CohortState.objects.filter(organisation=organisation).order_by("dimension", "label"))
    wanted = request.GET.get("cohort", "organisation:")
    cohort = next((c for c in cohorts if f"{c.dimension}:{c.value}" == wanted), None)
    if cohort is None:
        cohort = next((c for c in cohorts if c.dimension == "organisation"), None)
    context = {"organisation": organisation, "cohorts": cohorts, "cohort": cohort, "k": k, "instruments": []}
    if cohort is None:
        return render(request, "outcomes/evaluation.html", context)

    titles = {code: defn.title for (code, _v), defn in load_all().items()}
    outcomes = defaultdict(list)
    for s in OutcomeSummary.objects.filter(cohort=cohort):
        outcomes[(s.instrument_code, s.scale)].append(s)
    changes = defaultdict(list)
    for c in ChangeSummary.objects.filter(cohort=cohort):
        changes[(c.instrument_code, c.scale)].append(c)
    instruments = []
    for key in sorted(outcomes, key=lambda kv: (kv[0], kv[1] != "total", kv[1])):
        rows = sorted(outcomes[key], key=lambda s: TIME_ORDER.get(s.time_point, 99))
        shown = [r for r in rows if r.n >= k and r.mean is not None]
        chart = series_chart(
            [(r.get_time_point_display(), r.mean) for r in shown],
            intervals=[(r.ci_low, r.ci_high) for r in shown],
        )
        change_rows = []
        for c in sorted(changes.get(key, []), key=lambda c: TIME_ORDER.get(c.to_time_point, 99)):
            counts = [c.improved, c.unchanged, c.deteriorated]
            counts_ok = None not in counts and all(n == 0 or n >= k for n in counts)
            change_rows.append({"row": c, "shown": c.n_pairs >= k, "counts_shown": c.n_pairs >= k and counts_ok})
        instruments.append(
            {
                "code": key[0],
                "scale": key[1],
                "title": titles.get(key[0], key[0]),
                "rows": [{"row": r, "shown": r.n >= k} for r in rows],
                "chart": chart,
                "chart_id": f"chart-{key[0]}-{key[1]}",
                "changes": change_rows,
            }
        )
    flow = getattr(cohort, "flow", None)
    context.update(
        {
            "instruments": instruments,
            "flow": flow,
            "flow_shown": flow is not None and flow.enrolled >= k,
        }
    )
    return render(request, "outcomes/evaluation.html", context)
