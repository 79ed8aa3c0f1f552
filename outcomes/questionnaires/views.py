"""Questionnaire pages for members; completion and alerts for facilitators. Thin: rules live in services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from groups.permissions import groups_managed_by, staff_organisation
from outcomes import charts
from outcomes.instruments import registry
from outcomes.instruments.text import questionnaire_for
from outcomes.models import AssessmentStatus
from outcomes.questionnaires import lifecycle, risk, selectors
from outcomes.questionnaires.responses import AnswerError, answers_save, confirm_skips, response_submit, unanswered
from peersupport import audit
from peersupport.models import AuditEvent
from peersupport.pagination import page_of
from peersupport.views import consent_required


def _assessment_or_404(request: HttpRequest, organisation, assessment_id: int):
    lifecycle.assessments_refresh_for_member(request.user, organisation)  # open or closed as the clock says now
    assessment = selectors.member_assessment(request.user, organisation, assessment_id)
    if assessment is None:
        raise Http404("No such questionnaire.")
    return assessment


def _progress(assessment) -> tuple[list[tuple[str, int]], set[str]]:
    instruments = [(code, version) for code, version in assessment.instruments]
    done = set(assessment.responses.filter(submitted_at__isnull=False).values_list("instrument_code", flat=True))
    return instruments, done


@consent_required
def questionnaire_list(request: HttpRequest, organisation) -> HttpResponse:
    lifecycle.assessments_refresh_for_member(request.user, organisation)
    assessments = selectors.assessments_for_member(request.user, organisation)
    return render(
        request, "outcomes/questionnaire_list.html", {"organisation": organisation, "assessments": assessments}
    )


@consent_required
def assessment(request: HttpRequest, organisation, assessment_id: int) -> HttpResponse:
    """Start or carry on: go to the first instrument not yet submitted."""
    item = _assessment_or_404(request, organisation, assessment_id)
    instruments, done = _progress(item)
    if item.status == AssessmentStatus.OPEN:
        for code, _version in instruments:
            if code not in done:
                return redirect("outcomes:instrument", organisation.slug, item.pk, code)
    return render(
        request,
        "outcomes/assessment_done.html",
        {
            "organisation": organisation,
            "assessment": item,
            "alerted": item.responses.filter(risk_alerts__isnull=False).exists(),
        },
    )


@consent_required
@require_http_methods(["GET", "POST"])
def instrument(request: HttpRequest, organisation, assessment_id: int, code: str) -> HttpResponse:
    item = _assessment_or_404(request, organisation, assessment_id)
    instruments, done = _progress(item)
    versions = dict(instruments)
    if code not in versions:
        raise Http404("No such questionnaire in this set.")
    if item.status != AssessmentStatus.OPEN or code in done:
        return redirect("outcomes:assessment", organisation.slug, item.pk)
    defn = registry.get(code, versions[code])
    shown = questionnaire_for(defn, organisation, language=request.user.preferred_language)
    if shown is None:
        return render(
            request,
            "outcomes/instrument_unavailable.html",
            {"organisation": organisation, "assessment": item},
            status=503,
        )
    response = item.responses.filter(instrument_code=code).first()
    answers = dict(response.answers) if response else {}
    errors: dict[str, str] = {}
    only_skips = False
    if request.method == "POST":
        raw = {i.key: request.POST.get(i.key, "") for i in defn.items}
        try:
            if request.POST.get("action") == "save":
                answers_save(assessment=item, defn=defn, raw=raw)
                messages.success(request, _("Your answers are saved. You can carry on later, on any device."))
                return redirect("outcomes:questionnaires", organisation.slug)
            confirm_skips(defn, answers, raw, confirmed=bool(request.POST.get("skips_ok")))
            result = response_submit(assessment=item, defn=defn, raw=raw)
        except AnswerError as exc:
            errors = exc.errors
            answers.update({k: v for k, v in raw.items() if v != ""})
            only_skips = all(k in unanswered(defn, answers) for k in errors)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("outcomes:questionnaires", organisation.slug)
        else:
            if result.alerts or (not result.newly_submitted and result.response.risk_alerts.exists()):
                return redirect(reverse("outcomes:support", args=[organisation.slug, item.pk]) + f"?after={code}")
            return redirect("outcomes:assessment", organisation.slug, item.pk)
    position = [c for c, _v in instruments].index(code) + 1
    return render(
        request,
        "outcomes/instrument.html",
        {
            "organisation": organisation,
            "assessment": item,
            "questionnaire": shown,
            "answers": {k: str(v) for k, v in answers.items() if v is not None},
            "errors": errors,
            "only_skips": bool(errors) and only_skips,
            "position": position,
            "count": len(instruments),
            "autosave_url": reverse("outcomes:autosave", args=[organisation.slug, item.pk, code]),
        },
        status=400 if errors else 200,
    )


@consent_required
@require_POST
def autosave(request: HttpRequest, organisation, assessment_id: int, code: str) -> JsonResponse:
    """Save answers as they are given (called by questionnaire.js; the form works without it)."""
    item = _assessment_or_404(request, organisation, assessment_id)
    versions = {c: v for c, v in item.instruments}
    if code not in versions:
        raise Http404("No such questionnaire in this set.")
    defn = registry.get(code, versions[code])
    raw = {key: request.POST[key] for key in request.POST if key != "csrfmiddlewaretoken"}
    unknown = sorted(set(raw) - {i.key for i in defn.items})
    if unknown or not raw:  # nothing to save, or something that is not a question here: refuse it all
        message = (
            _("Nothing saved: no answers were sent.")
            if not raw
            else _("Nothing saved: %(keys)s is not a question of this questionnaire.") % {"keys": ", ".join(unknown)}
        )
        return JsonResponse({"saved": False, "errors": {"": message}}, status=400)
    try:
        answers_save(assessment=item, defn=defn, raw=raw)
    except AnswerError as exc:
        return JsonResponse({"saved": False, "errors": exc.errors}, status=400)
    except PermissionDenied as exc:
        return JsonResponse({"saved": False, "errors": {"": str(exc)}}, status=403)
    return JsonResponse({"saved": True})


@consent_required
def support(request: HttpRequest, organisation, assessment_id: int) -> HttpResponse:
    """Shown at once after an answer that means the member may need help now."""
    item = _assessment_or_404(request, organisation, assessment_id)
    return render(request, "outcomes/support.html", {"organisation": organisation, "assessment": item})


@consent_required
def my_scores(request: HttpRequest, organisation) -> HttpResponse:
    series = selectors.member_scores(request.user, organisation)
    return render(
        request,
        "outcomes/my_scores.html",
        {"organisation": organisation, "series": [(s, charts.line_chart(s.points)) for s in series]},
    )


@consent_required
def my_answers(request: HttpRequest, organisation, response_id: int) -> HttpResponse:
    """A member's own answers to one questionnaire, as they gave them."""
    response = selectors.member_response(request.user, organisation, response_id)
    if response is None:
        raise Http404("No such answers.")
    defn = registry.get(response.instrument_code, response.instrument_version)
    shown = questionnaire_for(defn, organisation, language=request.user.preferred_language)
    rows = []
    for item in defn.items:
        value = response.answers.get(item.key)
        text = next((s.text for s in shown.items if s.key == item.key), "") if shown else ""
        label = None
        if shown and value is not None:
            label = next(
                (o.label for s in shown.items if s.key == item.key for o in s.options if o.value == value), None
            )
        rows.append({"number": item.number, "text": text, "value": value, "label": label})
    return render(
        request,
        "outcomes/my_answers.html",
        {"organisation": organisation, "response": response, "title": defn.title, "rows": rows},
    )


@login_required
def completion(request: HttpRequest, slug: str) -> HttpResponse:
    """Who is due, done or overdue, and open risk alerts: never answers or scores."""
    organisation = staff_organisation(request, slug)
    groups = groups_managed_by(request.user, organisation)
    lifecycle.assessments_refresh_for_groups(groups)
    page = page_of(request, selectors.completion_assessments(groups))
    return render(
        request,
        "outcomes/completion.html",
        {
            "organisation": organisation,
            "page": page,
            "rows": selectors.completion_rows(page),
            "alerts": page_of(request, risk.open_alerts_for(request.user, organisation), param="alerts"),
        },
    )


@login_required
def alert_detail(request: HttpRequest, slug: str, alert_id: int) -> HttpResponse:
    """One alert's whole history: raised, e-mailed to whom, escalated, acknowledged with the note."""
    organisation = staff_organisation(request, slug)
    alert = risk.alerts_visible_to(request.user, organisation).filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert.")
    # The page shows the answer that raised it: a staff member's view of a member's answers.
    audit.record(
        AuditEvent.Action.RESPONSES_VIEWED,
        actor=request.user,
        organisation=organisation,
        obj=alert.response,
        request=request,
        member_id=alert.member_id,
        via="alert",
    )
    return render(
        request,
        "outcomes/alert.html",
        {"organisation": organisation, "alert": alert, "history": risk.alert_history(alert)},
    )


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, slug: str, alert_id: int) -> HttpResponse:
    organisation = staff_organisation(request, slug)
    alert = risk.open_alerts_for(request.user, organisation).filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such open alert.")
    try:
        risk.alert_acknowledge(alert=alert, by=request.user, note=request.POST.get("note", ""), request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Alert acknowledged."))
    if request.POST.get("from") == "alert":
        return redirect("outcomes:alert", organisation.slug, alert.pk)
    return redirect("outcomes:completion", organisation.slug)
