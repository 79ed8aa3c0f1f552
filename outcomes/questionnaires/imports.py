"""Importing answers collected on paper or in another system, from a long-format CSV.

One row per item answer::

    participant_email,group,time_point,instrument,item,value,completed_date
    sam@example.org,Tuesday recovery group,baseline,phq9,1,2,2026-03-03

``group`` is the group's name (or its number); ``instrument`` is a code, or
``code@version``; ``item`` is the item's number. The file is validated row by
row and imported all-or-nothing; answers are scored exactly as if given online.
Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.instruments import registry
from outcomes.instruments.types import InstrumentDefinition
from outcomes.models import Assessment, AssessmentStatus, Response, ResponseSource, TimePoint
from outcomes.questionnaires.responses import AnswerError, response_submit
from peersupport import audit
from peersupport.models import AuditEvent, Organisation, User
from peersupport.selectors import consent_is_active

COLUMNS = ("participant_email", "group", "time_point", "instrument", "item", "value", "completed_date")
MAX_ROWS = 200_000


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    responses_created: int = 0
    responses_unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _definition(code: str) -> InstrumentDefinition | None:
    """``code@version``, or the newest version of ``code``; None when not installed."""
    name, at, version = code.partition("@")
    try:
        if at:
            return registry.get(name, int(version)) if version.isdigit() else None
        return registry.latest(name)
    except LookupError:
        return None


def import_responses(
    *, organisation: Organisation, text: str, by: User | None = None, request: HttpRequest | None = None
) -> ImportReport:
    """Validate every row, then import all of it or none of it; an import that stores anything is audited
    (``by`` is None from the command line)."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        report.errors.append(
            RowError(
                1,
                _("The header must name the columns %(columns)s; missing: %(missing)s.")
                % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing)},
            )
        )
        return report

    groups_by_name = defaultdict(list)
    for group in SupportGroup.objects.filter(organisation=organisation):
        groups_by_name[group.name.strip().lower()].append(group)
        groups_by_name[str(group.pk)].append(group)
    memberships = {
        (m.group_id, m.user.email.lower()): m
        for m in Membership.objects.filter(group__organisation=organisation).select_related("user", "group")
    }
    consent_cache: dict[int, bool] = {}

    # (membership id, time point, instrument) → answers, completed date, first line
    bundles: dict[tuple, dict] = {}
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.errors.append(RowError(line, _("The file has more than %(n)s rows; split it.") % {"n": MAX_ROWS}))
            break
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}

        def fail(message: str, line=line) -> None:
            report.errors.append(RowError(line, message))

        group_matches = groups_by_name.get(row["group"].lower(), [])
        if len(group_matches) != 1:
            problem = (
                _("no such group") if not group_matches else _("more than one group has this name; use its number")
            )
            fail(_("group “%(group)s”: %(problem)s.") % {"group": row["group"], "problem": problem})
            continue
        group = group_matches[0]
        membership = memberships.get((group.pk, row["participant_email"].lower()))
        if membership is None or membership.status in (MembershipStatus.INVITED, MembershipStatus.REQUESTED):
            fail(
                _("participant “%(email)s” is not a member of “%(group)s”.")
                % {"email": row["participant_email"], "group": group.name}
            )
            continue
        if membership.user_id not in consent_cache:
            consent_cache[membership.user_id] = consent_is_active(user=membership.user, organisation=organisation)
        if not consent_cache[membership.user_id]:
            fail(
                _("participant “%(email)s” has not given (or has withdrawn) consent.")
                % {"email": row["participant_email"]}
            )
            continue
        if row["time_point"] not in TimePoint.values:
            fail(
                _("time_point “%(value)s” must be one of: %(choices)s.")
                % {"value": row["time_point"], "choices": ", ".join(TimePoint.values)}
            )
            continue
        defn = _definition(row["instrument"])
        if defn is None:
            fail(_("instrument “%(code)s” is not installed.") % {"code": row["instrument"]})
            continue
        items = {str(item.number): item for item in defn.items}
        item = items.get(row["item"])
        if item is None:
            fail(
                _("%(code)s has no item %(item)r (items 1–%(n)s).")
                % {"code": defn.code, "item": row["item"], "n": len(defn.items)}
            )
            continue
        try:
            completed = dt.date.fromisoformat(row["completed_date"])
        except ValueError:
            fail(_("completed_date “%(value)s” must be a date like 2026-03-31.") % {"value": row["completed_date"]})
            continue
        if completed > timezone.localdate():
            fail(_("completed_date %(date)s is in the future.") % {"date": completed})
            continue
        key = (membership.pk, row["time_point"], defn.code)
        bundle = bundles.setdefault(
            key, {"membership": membership, "defn": defn, "answers": {}, "completed": completed, "line": line}
        )
        if bundle["defn"].version != defn.version:
            fail(_("%(code)s: one response cannot mix instrument versions.") % {"code": defn.code})
            continue
        if bundle["completed"] != completed:
            fail(_("all rows of one response must share its completed_date."))
            continue
        if item.key in bundle["answers"]:
            fail(
                _("%(code)s item %(n)s is given twice for this participant and time point.")
                % {"code": defn.code, "n": item.number}
            )
            continue
        bundle["answers"][item.key] = row["value"]

    if report.errors:
        return report
    try:
        with transaction.atomic():
            for (_membership, time_point, _code), bundle in bundles.items():
                _import_bundle(report, time_point=time_point, **bundle)
            if report.errors:
                raise _Rollback
            audit.record(
                AuditEvent.Action.RESPONSES_IMPORTED,
                actor=by,
                organisation=organisation,
                request=request,
                rows=report.rows,
                responses_created=report.responses_created,
                responses_unchanged=report.responses_unchanged,
            )
    except _Rollback:
        report.responses_created = 0
    return report


class _Rollback(Exception):
    pass


def _import_bundle(report: ImportReport, *, membership, defn, answers, completed, line, time_point) -> None:
    submitted_at = dt.datetime.combine(completed, dt.time(12), tzinfo=dt.UTC)
    assessment, _created = Assessment.objects.get_or_create(
        membership=membership,
        time_point=time_point,
        defaults={"status": AssessmentStatus.OPEN, "opens_at": submitted_at, "closes_at": submitted_at},
    )
    pair = [defn.code, defn.version]
    if pair not in assessment.instruments:
        assessment.instruments = [*assessment.instruments, pair]
        if assessment.status in (AssessmentStatus.UPCOMING, AssessmentStatus.EXPIRED):
            assessment.status = AssessmentStatus.OPEN
        assessment.save(update_fields=["instruments", "status"])
    existing = Response.objects.filter(assessment=assessment, instrument_code=defn.code).first()
    if existing is not None and existing.submitted_at is not None:
        same = {k: str(v) for k, v in existing.answers.items() if v is not None} == {
            k: str(int(float(v)) if float(v).is_integer() else v) for k, v in answers.items()
        }
        if same:
            report.responses_unchanged += 1
        else:
            report.errors.append(
                RowError(
                    line,
                    _("%(code)s at %(time_point)s for this participant is already stored with other answers.")
                    % {"code": defn.code, "time_point": time_point},
                )
            )
        return
    try:
        response_submit(
            assessment=assessment,
            defn=defn,
            raw=answers,
            source=ResponseSource.IMPORT,
            submitted_at=submitted_at,
            check=False,
        )
    except AnswerError as exc:
        for message in exc.errors.values():
            report.errors.append(RowError(line, _("%(code)s: %(message)s") % {"code": defn.code, "message": message}))
        return
    report.responses_created += 1
