"""Importing answers collected on paper or in another system, from a long-format CSV.

One row per item answer::

    participant_email,group,time_point,instrument,item,value,completed_date
    sam@example.org,Tuesday recovery group,baseline,phq9,1,2,2026-03-03

``group`` is the group's name (or its number); ``instrument`` is a code, or
``code@version``; ``item`` is the item's number; an empty ``value`` is an unanswered item. The file is
checked row by row and imported all-or-nothing, in one transaction; rejected rows are reported grouped by
message (``import_checks``). Answers are scored exactly as if given online; a later time point dated before
an earlier one (post before baseline) is an error. Risk flags in answers completed more than
``LIVE_ALERT_DAYS`` ago become historical alerts (recorded for review, never e-mailed nor escalated); recent
ones alert as if answered online. ``dry_run`` checks and counts everything, then changes nothing.
Importing the same file again changes nothing. The roster (people, paper consent, memberships) comes first,
from ``roster.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from groups.models import Membership, MembershipStatus, SupportGroup
from outcomes.instruments import registry
from outcomes.instruments.types import InstrumentDefinition, OptionSet
from outcomes.models import Assessment, AssessmentStatus, Response, ResponseSource, TimePoint
from outcomes.questionnaires.import_checks import Problems, parse_date, rejected_summary, unknown
from outcomes.questionnaires.responses import AnswerError, response_submit
from peersupport import audit
from peersupport.models import AuditEvent, Organisation, User
from peersupport.selectors import consent_active_user_ids

COLUMNS = ("participant_email", "group", "time_point", "instrument", "item", "value", "completed_date")
MAX_ROWS = 200_000
#: Answers completed within this many days raise live alerts (someone may need support now); older ones are
#: historical: recorded for review, not e-mailed.
LIVE_ALERT_DAYS = 14
#: Time points in the order they happen: a later one may not be dated before an earlier one.
ORDER = {value: index for index, value in enumerate(TimePoint.values)}


@dataclass
class ImportReport(Problems):
    responses_created: int = 0
    responses_unchanged: int = 0
    unscorable: int = 0  # stored, but with too many unanswered items to give a total
    historical_alerts: int = 0  # risk flags recorded for review, not e-mailed
    live_alerts: int = 0  # risk flags in recent answers, e-mailed as if answered online
    dry_run: bool = False

    def summary(self) -> list[str]:
        """What happened (or, on a dry run or a rejected file, what would have), one sentence a line."""
        if not self.ok:
            return [rejected_summary(self)]
        verb = _("Check only, nothing was changed: would import") if self.dry_run else _("Imported")
        lines = [
            ngettext(
                "%(verb)s %(n)s response from %(rows)s rows (%(u)s were already there, unchanged).",
                "%(verb)s %(n)s responses from %(rows)s rows (%(u)s were already there, unchanged).",
                self.responses_created,
            )
            % {
                "verb": verb,
                "n": f"{self.responses_created:,}",
                "rows": f"{self.rows:,}",
                "u": f"{self.responses_unchanged:,}",
            },
            ngettext(
                "%(n)s response has too many unanswered items to be scored: stored without a total.",
                "%(n)s responses have too many unanswered items to be scored: stored without a total.",
                self.unscorable,
            )
            % {"n": f"{self.unscorable:,}"},
            ngettext(
                "%(n)s risk flag in answers older than %(days)s days is recorded as a historical alert for review "
                "(not e-mailed, not escalated).",
                "%(n)s risk flags in answers older than %(days)s days are recorded as historical alerts for review "
                "(not e-mailed, not escalated).",
                self.historical_alerts,
            )
            % {"n": f"{self.historical_alerts:,}", "days": LIVE_ALERT_DAYS},
        ]
        if self.live_alerts:
            lines.append(
                ngettext(
                    "%(n)s risk flag in answers from the last %(days)s days alerts the facilitators and leads now.",
                    "%(n)s risk flags in answers from the last %(days)s days alert the facilitators and leads now.",
                    self.live_alerts,
                )
                % {"n": f"{self.live_alerts:,}", "days": LIVE_ALERT_DAYS}
            )
        return lines


def _definition(code: str) -> InstrumentDefinition | None:
    """``code@version``, or the newest version of ``code``; None when not installed."""
    name, at, version = code.partition("@")
    try:
        if at:
            return registry.get(name, int(version)) if version.isdigit() else None
        return registry.latest(name)
    except LookupError:
        return None


def allowed(options: OptionSet) -> str:
    """The answers an item allows, as a person would write them: “0–3”, or “1, 2, 4”."""
    values = sorted(options.values)
    text = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
    if options.integral and values == list(range(int(values[0]), int(values[-1]) + 1)) and len(values) > 2:
        return f"{text[0]}–{text[-1]}"
    return ", ".join(text)


def _value(options: OptionSet, raw: str) -> bool:
    if raw == "":
        return True
    try:
        number = float(raw)
    except ValueError:
        return False
    return options.allows(int(number) if number.is_integer() else number)


def import_responses(
    *,
    organisation: Organisation,
    text: str,
    by: User | None = None,
    request: HttpRequest | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Check every row, then import all of it or none of it (one transaction); an import that stores anything is
    audited (``by`` is None from the command line). ``dry_run`` does everything, counts it, and rolls it back."""
    report = ImportReport(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        report.add(
            1,
            _("The header must name the columns %(columns)s; missing: %(missing)s")
            % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing)},
        )
        return report

    groups = list(SupportGroup.objects.filter(organisation=organisation))
    groups_by_name = defaultdict(list)
    for group in groups:
        groups_by_name[group.name.strip().lower()].append(group)
        groups_by_name[str(group.pk)].append(group)
    group_names = sorted((group.name for group in groups), key=str.lower)
    memberships = {
        (m.group_id, m.user.email.lower()): m
        for m in Membership.objects.filter(group__organisation=organisation).select_related("user", "group")
    }
    installed_codes = sorted({code for code, _version in registry.installed()})
    consenting = consent_active_user_ids(organisation)
    definitions: dict[str, InstrumentDefinition | None] = {}

    # (membership id, time point, instrument) → answers, completed date, first line
    bundles: dict[tuple, dict] = {}
    for line, row in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.add(line, _("the file has more than %(n)s rows; split it") % {"n": f"{MAX_ROWS:,}"})
            break
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}

        def fail(message: str, line=line) -> None:
            report.add(line, message)

        group_matches = groups_by_name.get(row["group"].lower(), [])
        if not group_matches:
            fail(unknown(_("group"), row["group"], group_names, quote=True))
            continue
        if len(group_matches) > 1:
            fail(_("group “%(group)s”: more than one group has this name; use its number") % {"group": row["group"]})
            continue
        group = group_matches[0]
        membership = memberships.get((group.pk, row["participant_email"].lower()))
        if membership is None or membership.status in (MembershipStatus.INVITED, MembershipStatus.REQUESTED):
            fail(
                _("participant “%(email)s” is not a member of “%(group)s” (import the roster first)")
                % {"email": row["participant_email"], "group": group.name}
            )
            continue
        if membership.user_id not in consenting:
            fail(
                _("participant “%(email)s” has not given (or has withdrawn) consent")
                % {"email": row["participant_email"]}
            )
            continue
        if row["time_point"] not in TimePoint.values:
            fail(unknown(_("time_point"), row["time_point"], TimePoint.values))
            continue
        if row["instrument"] not in definitions:
            definitions[row["instrument"]] = _definition(row["instrument"])
        defn = definitions[row["instrument"]]
        if defn is None:
            fail(unknown(_("instrument"), row["instrument"], installed_codes))
            continue
        items = {str(item.number): item for item in defn.items}
        item = items.get(row["item"])
        if item is None:
            fail(
                _("%(code)s has no item “%(item)s” (items 1–%(n)s)")
                % {"code": defn.code, "item": row["item"], "n": len(defn.items)}
            )
            continue
        if not _value(item.options, row["value"]):
            fail(
                _("%(code)s item %(n)s: value “%(value)s” is not allowed (allowed: %(allowed)s, or empty)")
                % {"code": defn.code, "n": item.number, "value": row["value"], "allowed": allowed(item.options)}
            )
            continue
        completed, problem = parse_date("completed_date", row["completed_date"])
        if problem:
            fail(problem)
            continue
        key = (membership.pk, row["time_point"], defn.code)
        bundle = bundles.setdefault(
            key, {"membership": membership, "defn": defn, "answers": {}, "completed": completed, "line": line}
        )
        if bundle["defn"].version != defn.version:
            fail(_("%(code)s: one response cannot mix instrument versions") % {"code": defn.code})
            continue
        if bundle["completed"] != completed:
            fail(
                _("%(code)s at %(time_point)s: all rows of one response must share its completed_date (%(date)s)")
                % {"code": defn.code, "time_point": row["time_point"], "date": bundle["completed"].isoformat()}
            )
            continue
        if item.key in bundle["answers"]:
            fail(
                _("%(code)s item %(n)s is given twice for this participant and time point")
                % {"code": defn.code, "n": item.number}
            )
            continue
        bundle["answers"][item.key] = row["value"]

    if report.ok:
        _check_order(report, bundles)
    if not report.ok:
        return report
    try:
        with transaction.atomic():
            for (_membership, time_point, _code), bundle in bundles.items():
                _import_bundle(report, time_point=time_point, **bundle)
            if not report.ok or dry_run:
                raise _Rollback
            audit.record(
                AuditEvent.Action.RESPONSES_IMPORTED,
                actor=by,
                organisation=organisation,
                request=request,
                rows=report.rows,
                responses_created=report.responses_created,
                responses_unchanged=report.responses_unchanged,
                unscorable=report.unscorable,
                historical_alerts=report.historical_alerts,
                live_alerts=report.live_alerts,
            )
    except _Rollback:
        if not report.ok:
            report.responses_created = report.unscorable = report.historical_alerts = report.live_alerts = 0
    return report


def _check_order(report: ImportReport, bundles: dict[tuple, dict]) -> None:
    """A later time point dated before an earlier one of the same member and instrument is an error, against
    the file and against what is already stored."""
    dates: dict[tuple, dict[str, tuple[dt.date, int | None]]] = defaultdict(dict)
    for (membership_id, time_point, code), bundle in bundles.items():
        dates[(membership_id, code)][time_point] = (bundle["completed"], bundle["line"])
    stored = Response.objects.filter(
        assessment__membership_id__in={membership_id for membership_id, _code in dates},
        submitted_at__isnull=False,
    ).values_list("assessment__membership_id", "instrument_code", "assessment__time_point", "submitted_at")
    for membership_id, code, time_point, submitted_at in stored:
        if (membership_id, code) in dates:
            dates[(membership_id, code)].setdefault(time_point, (submitted_at.date(), None))
    emails = {bundle["membership"].pk: bundle["membership"].user.email for bundle in bundles.values()}
    for (membership_id, code), by_point in dates.items():
        points = sorted(by_point, key=ORDER.__getitem__)
        for earlier, later in zip(points, points[1:], strict=False):
            (first, _line), (second, line) = by_point[earlier], by_point[later]
            if second < first:
                report.add(
                    line or by_point[earlier][1],
                    _(
                        "participant “%(email)s”, %(code)s: %(later)s (%(second)s) is dated before %(earlier)s "
                        "(%(first)s)"
                    )
                    % {
                        "email": emails[membership_id],
                        "code": code,
                        "later": later,
                        "second": second.isoformat(),
                        "earlier": earlier,
                        "first": first.isoformat(),
                    },
                )


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
            k: str(int(float(v)) if float(v).is_integer() else v) for k, v in answers.items() if v != ""
        }
        if same:
            report.responses_unchanged += 1
        else:
            report.add(
                line,
                _("participant “%(email)s”: %(code)s at %(time_point)s is already stored with other answers")
                % {"email": membership.user.email, "code": defn.code, "time_point": time_point},
            )
        return
    historical = completed < timezone.localdate() - dt.timedelta(days=LIVE_ALERT_DAYS)
    try:
        result = response_submit(
            assessment=assessment,
            defn=defn,
            raw=answers,
            source=ResponseSource.IMPORT,
            submitted_at=submitted_at,
            check=False,
            historical=historical,
        )
    except AnswerError as exc:
        for message in exc.errors.values():
            report.add(line, _("%(code)s: %(message)s") % {"code": defn.code, "message": message})
        return
    report.responses_created += 1
    report.unscorable += result.response.total is None
    if historical:
        report.historical_alerts += len(result.alerts)
    else:
        report.live_alerts += len(result.alerts)
