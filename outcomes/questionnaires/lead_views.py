"""Lead pages: instrument wording, measurement plans, importing answers."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from groups.models import Curriculum, SupportGroup
from outcomes.instruments import registry
from outcomes.instruments.text import text_status
from outcomes.models import InstrumentText, MeasurementPlan, PlanTimePoint
from outcomes.questionnaires import selectors, services
from outcomes.questionnaires.forms import ImportForm, InstrumentTextForm, PlanForm, PrimaryOutcomeForm, TimePointForm
from outcomes.questionnaires.imports import COLUMNS, import_responses
from outcomes.questionnaires.roster import COLUMNS as ROSTER_COLUMNS
from outcomes.questionnaires.roster import import_roster
from peersupport.pagination import page_of
from peersupport.permissions import Perm, organisation_for


def _lead_org(request: HttpRequest, slug: str):
    return organisation_for(request, slug, Perm.MANAGE_ORGANISATION)


def _definition_or_404(code: str, version: int):
    try:
        return registry.get(code, version)
    except LookupError:
        raise Http404("No such instrument.") from None


@login_required
def instruments(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _lead_org(request, slug)
    rows = [(defn, text_status(defn, organisation)) for _key, defn in sorted(registry.installed().items())]
    return render(request, "outcomes/lead/instruments.html", {"organisation": organisation, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def instrument_text(request: HttpRequest, slug: str, code: str, version: int) -> HttpResponse:
    organisation = _lead_org(request, slug)
    defn = _definition_or_404(code, version)
    if text_status(defn, organisation) == "built_in":
        messages.info(request, _("This questionnaire's wording is built in."))
        return redirect("outcomes:lead_instruments", organisation.slug)
    existing = InstrumentText.objects.filter(
        organisation=organisation, instrument_code=defn.code, instrument_version=defn.version, language="en"
    ).first()
    initial = {}
    if existing:
        initial = {"licence_declaration": existing.licence_declaration, "instructions": existing.instructions}
        initial.update({f"item_{k}": v for k, v in existing.items.items()})
        for set_name, labels in existing.option_labels.items():
            initial.update({f"option_{set_name}_{value}": label for value, label in labels.items()})
    form = InstrumentTextForm(request.POST or None, definition=defn, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.instrument_text_save(
            organisation=organisation,
            defn=defn,
            items=form.items(),
            option_labels=form.option_labels(),
            instructions=form.cleaned_data["instructions"],
            licence_declaration=form.cleaned_data["licence_declaration"],
            by=request.user,
            request=request,
        )
        messages.success(request, _("The wording of %(title)s is saved.") % {"title": defn.title})
        return redirect("outcomes:lead_instruments", organisation.slug)
    return render(
        request, "outcomes/lead/instrument_text.html", {"organisation": organisation, "defn": defn, "form": form}
    )


def _targets(organisation) -> list[tuple[str, str]]:
    groups = [(f"group:{g.pk}", _("Group: %(n)s") % {"n": g.name}) for g in organisation.support_groups.all()]
    curricula = [
        (f"curriculum:{c.pk}", _("Curriculum: %(t)s (v%(v)s)") % {"t": c.title, "v": c.version})
        for c in organisation.curricula.all()
    ]
    return groups + curricula


def _instrument_choices(organisation) -> list[tuple[str, str]]:
    return [
        (f"{defn.code}@{defn.version}", defn.title)
        for _key, defn in sorted(registry.installed().items())
        if text_status(defn, organisation) != "missing"
    ]


@login_required
@require_http_methods(["GET", "POST"])
def plans(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = _lead_org(request, slug)
    form = PlanForm(request.POST or None, targets=_targets(organisation))
    if request.method == "POST" and form.is_valid():
        kind, _sep, pk = form.cleaned_data["target"].partition(":")
        model = SupportGroup if kind == "group" else Curriculum
        target = get_object_or_404(model, pk=pk, organisation=organisation)
        try:
            plan = services.plan_create(
                organisation=organisation,
                name=form.cleaned_data["name"],
                target=target,
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("outcomes:lead_plan", organisation.slug, plan.pk)
    existing = page_of(request, selectors.plans_of(organisation))
    return render(request, "outcomes/lead/plans.html", {"organisation": organisation, "plans": existing, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, slug: str, plan_id: int) -> HttpResponse:
    organisation = _lead_org(request, slug)
    the_plan = _plan_or_404(organisation, plan_id)
    form = TimePointForm(request.POST or None, instruments=_instrument_choices(organisation))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.time_point_add(
                plan=the_plan,
                time_point=data["time_point"],
                anchor=data["anchor"],
                opens_days=data["opens_days"],
                closes_days=data["closes_days"],
                instruments=data["instruments"],
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Time point added. Members' assessments are created by the next run."))
            return redirect("outcomes:lead_plan", organisation.slug, the_plan.pk)
    return _plan_page(request, organisation, the_plan, form=form)


def _plan_or_404(organisation, plan_id: int) -> MeasurementPlan:
    the_plan = MeasurementPlan.objects.filter(pk=plan_id, organisation=organisation).first()
    if the_plan is None:
        raise Http404("No such plan.")
    return the_plan


def _plan_page(request, organisation, the_plan, *, form=None, primary_form=None) -> HttpResponse:
    namings = list(the_plan.primary_outcomes.select_related("named_by").order_by("named_at", "id"))
    return render(
        request,
        "outcomes/lead/plan.html",
        {
            "organisation": organisation,
            "plan": the_plan,
            "time_points": the_plan.time_points.prefetch_related("instruments"),
            "form": form or TimePointForm(instruments=_instrument_choices(organisation)),
            "primary_form": primary_form or PrimaryOutcomeForm(choices=services.primary_outcome_choices(the_plan)),
            "primary": namings[-1] if namings else None,
            "namings": namings,
            "follow_up_opened": services.follow_up_opened(the_plan),
        },
    )


@login_required
@require_POST
def plan_primary_outcome(request: HttpRequest, slug: str, plan_id: int) -> HttpResponse:
    organisation = _lead_org(request, slug)
    the_plan = _plan_or_404(organisation, plan_id)
    form = PrimaryOutcomeForm(request.POST, choices=services.primary_outcome_choices(the_plan))
    if form.is_valid():
        try:
            services.primary_outcome_name(
                plan=the_plan,
                choice=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Primary outcome recorded. Everything else in the report is secondary."))
            return redirect("outcomes:lead_plan", organisation.slug, the_plan.pk)
    return _plan_page(request, organisation, the_plan, primary_form=form)


@login_required
@require_POST
def plan_time_point_remove(request: HttpRequest, slug: str, plan_id: int, time_point_id: int) -> HttpResponse:
    organisation = _lead_org(request, slug)
    tp = PlanTimePoint.objects.filter(pk=time_point_id, plan_id=plan_id, plan__organisation=organisation).first()
    if tp is None:
        raise Http404("No such time point.")
    try:
        services.time_point_remove(time_point=tp, by=request.user, request=request)
    except services.TimePointInUse:
        messages.error(request, _("Members have already been asked at this time point: it cannot be removed."))
    else:
        messages.success(request, _("Time point removed."))
    return redirect("outcomes:lead_plan", organisation.slug, plan_id)


IMPORTS = {
    "responses": {
        "service": import_responses,
        "columns": COLUMNS,
        "title": gettext_lazy("Import paper or legacy answers"),
        "example": (
            "participant_email,group,time_point,instrument,item,value,completed_date\n"
            "sam@example.org,Tuesday recovery group,baseline,phq9,1,2,2025-01-14\n"
            "sam@example.org,Tuesday recovery group,baseline,phq9,2,1,2025-01-14"
        ),
        "url": "outcomes:lead_import",
    },
    "roster": {
        "service": import_roster,
        "columns": ROSTER_COLUMNS,
        "title": gettext_lazy("Import a roster: people, paper consent, memberships"),
        "example": (
            "email,display_name,year_of_birth,group,status,joined_date,left_date,withdrawal_reason,consent_date\n"
            "sam@example.org,Sam,1990,Tuesday recovery group,completed,2025-01-14,2025-03-25,,2025-01-14\n"
            "alex@example.org,,,Tuesday recovery group,withdrawn,2025-01-14,2025-02-04,time_or_place,2025-01-14"
        ),
        "url": "outcomes:lead_roster_import",
    },
}


def _import(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """One page per file (roster first, then answers): "Check only" runs the whole import and rolls it back;
    "Import" imports it all, or nothing and the problems grouped by message."""
    organisation = _lead_org(request, slug)
    spec = IMPORTS[kind]
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        report = spec["service"](
            organisation=organisation,
            text=form.cleaned_data["file"],
            by=request.user,
            request=request,
            dry_run="check" in request.POST,
        )
        if report.ok and not report.dry_run:
            for line in report.summary():
                messages.success(request, line)
            return redirect(spec["url"], organisation.slug)
    return render(
        request,
        "outcomes/lead/import.html",
        {"organisation": organisation, "form": form, "report": report, "kind": kind, **spec},
        status=400 if report and not report.ok else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _import(request, slug, "responses")


@login_required
@require_http_methods(["GET", "POST"])
def roster_import_page(request: HttpRequest, slug: str) -> HttpResponse:
    return _import(request, slug, "roster")
