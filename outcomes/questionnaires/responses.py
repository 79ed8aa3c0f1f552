"""Answering questionnaires: saving answers as they are given, and the idempotent submit."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from outcomes.evaluation.marking import mark_stale_for_response
from outcomes.instruments.scoring import ScoringInputError, score
from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import Assessment, AssessmentStatus, Response, ResponseSource
from outcomes.questionnaires import risk
from peersupport.selectors import consent_is_active


class AnswerError(ValidationError):
    """Answers that cannot be stored; ``errors`` maps item key to a message a member can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(list(errors.values()))
        self.errors = errors


def parse_answers(defn: InstrumentDefinition, raw: dict[str, object]) -> dict[str, int | float | None]:
    """Turn submitted strings into option values; unknown keys are ignored, bad values reported per item."""
    parsed: dict[str, int | float | None] = {}
    errors: dict[str, str] = {}
    for item in defn.items:
        if item.key not in raw:
            continue
        value = raw[item.key]
        if value is None or (isinstance(value, str) and value.strip() == ""):
            parsed[item.key] = None
            continue
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is not None and number.is_integer():
            number = int(number)
        if number is None or not item.options.allows(number):
            errors[item.key] = _("Question %(n)s: choose one of the answers shown.") % {"n": item.number}
            continue
        parsed[item.key] = number
    if errors:
        raise AnswerError(errors)
    return parsed


def unanswered(defn: InstrumentDefinition, answers: dict) -> list[str]:
    """Keys of the scored items with no answer, in order (extra questions such as PHQ-9's 10th are optional)."""
    return [item.key for item in defn.scored_items if answers.get(item.key) in (None, "")]


def confirm_skips(defn: InstrumentDefinition, saved: dict, raw: dict[str, object], *, confirmed: bool) -> None:
    """Skipping questions is allowed, but the member is told exactly which were left, once, before the answers
    are stored: unless ``confirmed``, raises AnswerError naming each scored question neither saved nor in ``raw``."""
    if confirmed:
        return
    skipped = unanswered(defn, {**saved, **{k: v for k, v in raw.items() if v != ""}})
    if skipped:
        raise AnswerError({key: _("Question %(n)s is not answered.") % {"n": defn.item(key).number} for key in skipped})


def missing_required(defn: InstrumentDefinition, answers: dict[str, int | float | None]) -> dict[str, str]:
    return {
        item.key: _("Question %(n)s needs an answer.") % {"n": item.number}
        for item in defn.items
        if item.required and answers.get(item.key) is None
    }


def _check_may_answer(assessment: Assessment, defn: InstrumentDefinition) -> None:
    if assessment.status != AssessmentStatus.OPEN:
        raise PermissionDenied(_("These questionnaires are not open."))
    if [defn.code, defn.version] not in assessment.instruments:
        raise PermissionDenied(_("This questionnaire is not part of this set."))
    membership = assessment.membership
    if not consent_is_active(user=membership.user, organisation=membership.group.organisation):
        raise PermissionDenied(_("You have withdrawn your consent, so we do not collect answers from you."))


def _response_for_update(assessment: Assessment, defn: InstrumentDefinition) -> Response:
    try:
        with transaction.atomic():
            response, _created = Response.objects.get_or_create(
                assessment=assessment,
                instrument_code=defn.code,
                defaults={"instrument_version": defn.version},
            )
    except IntegrityError:  # a parallel request created it first
        pass
    return Response.objects.select_for_update().get(assessment=assessment, instrument_code=defn.code)


@transaction.atomic
def answers_save(*, assessment: Assessment, defn: InstrumentDefinition, raw: dict[str, object]) -> Response:
    """Store answers given so far (a draft). Merges with what was saved before; a submitted response is left alone."""
    _check_may_answer(assessment, defn)
    parsed = parse_answers(defn, raw)
    response = _response_for_update(assessment, defn)
    if response.submitted_at is None:
        response.answers = {**response.answers, **parsed}
        response.save(update_fields=["answers", "updated_at"])
    return response


@dataclass(frozen=True)
class SubmitResult:
    response: Response
    newly_submitted: bool
    alerts: tuple
    assessment_completed: bool


def _store_scores(response: Response, defn: InstrumentDefinition, answers: dict) -> tuple[str, ...]:
    try:
        result = score(defn, answers)
    except ScoringInputError as exc:  # parse_answers already checked; this is a definition/code mismatch
        raise AnswerError({str(exc.item_key or ""): str(exc)}) from exc
    response.answers = answers
    response.total = None if result.total is None else float(result.total)
    response.scores = result.as_dict()
    response.scoring_version = result.scoring_version
    response.instrument_version = defn.version
    return result.risk_flags


@transaction.atomic
def response_submit(
    *,
    assessment: Assessment,
    defn: InstrumentDefinition,
    raw: dict[str, object],
    source: str = ResponseSource.ONLINE,
    submitted_at=None,
    check: bool = True,
    historical: bool = False,
) -> SubmitResult:
    """Submit one instrument. Idempotent: a second submit (double tap, retried request) changes nothing.

    Scores and risk rules run at once; risk alerts e-mail facilitators and leads after commit (``historical``
    answers, imported, raise historical alerts instead: recorded for review, not e-mailed).
    """
    if check:
        _check_may_answer(assessment, defn)
    # Lock the assessment: parallel submits of its last two instruments must agree on completion.
    assessment = (
        Assessment.objects.select_for_update(of=("self",))
        .select_related("membership__group__organisation")
        .get(pk=assessment.pk)
    )
    response = _response_for_update(assessment, defn)
    if response.submitted_at is not None:
        return SubmitResult(response, False, (), assessment.status == AssessmentStatus.COMPLETED)
    answers = {**response.answers, **parse_answers(defn, raw)}
    missing = missing_required(defn, answers)
    if missing:
        raise AnswerError(missing)
    flags = _store_scores(response, defn, answers)
    response.source = source
    response.submitted_at = submitted_at or timezone.now()
    response.save()
    alerts = risk.alerts_raise(response=response, flags=flags, historical=historical)

    submitted = set(assessment.responses.filter(submitted_at__isnull=False).values_list("instrument_code", flat=True))
    completed = all(code in submitted for code, _version in assessment.instruments)
    if completed and assessment.status != AssessmentStatus.COMPLETED:
        assessment.status = AssessmentStatus.COMPLETED
        assessment.completed_at = response.submitted_at
        assessment.save(update_fields=["status", "completed_at"])
    mark_stale_for_response(response)
    return SubmitResult(response, True, tuple(alerts), completed)
