"""``manage.py audit_disclosure --org SLUG``: can anything hidden be worked out from what a lead reads?"""

from django.core.management.base import BaseCommand, CommandError

from groups.models import SupportGroup
from outcomes.evaluation.cohorts import groups_filter
from outcomes.evaluation.disclosure.audit import audit
from outcomes.evaluation.disclosure.published import published_figures
from outcomes.evaluation.summary import FLOW_REASONS, FLOW_TIME_POINTS, figures_as_stored, summary_tables
from outcomes.models import CohortState
from peersupport.models import Organisation


def cohort_groups(organisation) -> dict[tuple[str, str], frozenset]:
    """(dimension, value) → the ids of the cohort's groups, for every cohort of the organisation."""
    groups = SupportGroup.objects.filter(organisation=organisation)
    found = {}
    for state in CohortState.objects.filter(organisation=organisation):
        try:
            members = groups.filter(groups_filter(state.dimension, state.value)).values_list("pk", flat=True)
            found[(state.dimension, state.value)] = frozenset(members)
        except (KeyError, ValueError):
            found[(state.dimension, state.value)] = frozenset()
    return found


def never_published(tables) -> dict:
    """The stored value of each never-published count (``published.published_figures``' keys): the rest of a
    change row's pairs, the improved but not recovered, those still in the group, not started, not assessed."""
    found = {}
    for r in tables.changes:
        family = ("change", r["instrument"], r["scale"], r["from_time_point"], r["to_time_point"])
        key = (family, r["cohort_dimension"], r["cohort_value"])
        if None not in (r["improved"], r["unchanged"], r["deteriorated"]):
            found[(*key, "unclassified")] = r["n_pairs"] - r["improved"] - r["unchanged"] - r["deteriorated"]
            if r.get("recovered") is not None:
                found[(*key, "improved_only")] = r["improved"] - r["recovered"]
    for r in tables.flows:
        cohort = (r["cohort_dimension"], r["cohort_value"])
        found[(("flow", "status"), *cohort, "ongoing")] = r["enrolled"] - r["completed_group"] - r["withdrawn"]
        found[(("flow", "started"), *cohort, "not_started")] = r["enrolled"] - r["started"]
        for tp in FLOW_TIME_POINTS:
            found[(("flow", "assessed", tp), *cohort, f"not_assessed_{tp}")] = r["enrolled"] - r[f"assessed_{tp}"]
    return found


class Command(BaseCommand):
    help = (
        "Audit an organisation's published evaluation figures (page, exports, JSON report, every date range): "
        "for each hidden figure, the interval a reader can narrow it to by linear programming "
        "(docs/statistics.md §6). Exits with an error when a figure breaks the rule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="the organisation's slug")
        parser.add_argument("--show", type=int, default=20, help="how many breaches to list")

    def handle(self, *args, **options):
        organisation = Organisation.objects.filter(slug=options["org"]).first()
        if organisation is None:
            raise CommandError(f"No organisation with the slug {options['org']!r}.")
        tables = summary_tables(organisation)
        figures, links = published_figures(
            tables, cohort_groups(organisation), reasons=FLOW_REASONS, time_points=FLOW_TIME_POINTS
        )
        # The stored values judge (never compute): a hidden figure that is really 0 describes nobody.
        stored, _links = published_figures(
            figures_as_stored(organisation), cohort_groups(organisation), reasons=FLOW_REASONS,
            time_points=FLOW_TIME_POINTS,
        )  # fmt: skip
        truth = {f.key: f.value for f in stored if isinstance(f.value, int)} | never_published(
            figures_as_stored(organisation)
        )
        result = audit(figures, k=tables.k, links=links, truth=truth)
        hidden = sum(1 for f in figures if f.value is not None and not isinstance(f.value, int))
        self.stdout.write(
            f"{organisation.slug}: k = {tables.k}, {len(figures)} figures, {hidden} hidden, "
            f"{len(result.intervals)} intervals from {result.lps} linear programmes, "
            f"{len(result.violations)} breaking the rule."
        )
        for violation in result.violations[: options["show"]]:
            self.stdout.write(f"  {violation.key}: {violation.why}")
        if result.violations:
            raise CommandError(f"{len(result.violations)} hidden figures can be narrowed down or worked out.")
