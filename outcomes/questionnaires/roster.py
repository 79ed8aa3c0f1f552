"""Importing a roster kept on paper or in another system: people, their paper consent, their memberships.

One row per person and group::

    email,display_name,year_of_birth,group,status,joined_date,left_date,withdrawal_reason,consent_date
    sam@example.org,Sam,1990,Tuesday recovery group,completed,2025-01-14,2025-03-25,,2025-01-14

Required columns: ``email``, ``group`` (its name or number), ``status`` (active, completed or withdrawn),
``joined_date`` and ``consent_date`` (the day the paper consent form was signed); ``display_name``,
``year_of_birth``, ``left_date`` (required for completed and withdrawn, empty for active) and
``withdrawal_reason`` (a code of ``WithdrawalReason``, for withdrawn only; empty: not recorded) may be left
out. A new address gets an account as the product makes one: no password (they can set one with "forgot
password" when they sign in), no e-mail, no invitation; an existing account is used as it is. Each person
gets the member role and a paper consent to the consent text in effect (source ``paper``, entered by the
importing lead, dated ``consent_date``); each membership is recorded with its days and status
(``membership_record_past``). The file is checked first: any rejected row and nothing changes (one
transaction), the problems grouped by message. Importing the same file again changes nothing; ``dry_run``
checks and counts everything, then changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from groups.models import Membership, MembershipStatus, SupportGroup, WithdrawalReason
from groups.services.membership import membership_record_past
from outcomes.questionnaires.import_checks import Problems, parse_date, rejected_summary, unknown
from peersupport import audit
from peersupport.models import AuditEvent, Organisation, RoleKind, User
from peersupport.selectors import consent_current_version
from peersupport.services import consent_record_paper, role_grant

REQUIRED = ("email", "group", "status", "joined_date", "consent_date")
OPTIONAL = ("display_name", "year_of_birth", "left_date", "withdrawal_reason")
COLUMNS = ("email", "display_name", "year_of_birth", "group", "status", "joined_date", "left_date",
           "withdrawal_reason", "consent_date")  # fmt: skip
STATUSES = (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED, MembershipStatus.WITHDRAWN)
MAX_ROWS = 50_000


@dataclass
class RosterReport(Problems):
    people_created: int = 0
    people_existing: int = 0
    consents_recorded: int = 0
    memberships_created: Counter = field(default_factory=Counter)
    memberships_unchanged: int = 0
    dry_run: bool = False

    def summary(self) -> list[str]:
        if not self.ok:
            return [rejected_summary(self)]
        verb = _("Check only, nothing was changed: would import") if self.dry_run else _("Imported")
        by_status = ", ".join(
            f"{self.memberships_created[status]:,} {MembershipStatus(status).label.lower()}" for status in STATUSES
        )
        return [
            _(
                "%(verb)s %(rows)s rows: %(new)s new people (accounts without a password; nobody is e-mailed) "
                "and %(old)s already known."
            )
            % {
                "verb": verb,
                "rows": f"{self.rows:,}",
                "new": f"{self.people_created:,}",
                "old": f"{self.people_existing:,}",
            },
            ngettext(
                "%(n)s paper consent recorded (source: paper).",
                "%(n)s paper consents recorded (source: paper).",
                self.consents_recorded,
            )
            % {"n": f"{self.consents_recorded:,}"},
            _("%(n)s memberships recorded (%(by_status)s); %(u)s were already there, unchanged.")
            % {
                "n": f"{sum(self.memberships_created.values()):,}",
                "by_status": by_status,
                "u": f"{self.memberships_unchanged:,}",
            },
        ]


@dataclass
class _Row:
    line: int
    email: str
    display_name: str
    year_of_birth: int | None
    group: SupportGroup
    status: str
    joined: dt.date
    left: dt.date | None
    reason: str
    consent: dt.date


def import_roster(
    *,
    organisation: Organisation,
    text: str,
    by: User | None = None,
    request: HttpRequest | None = None,
    dry_run: bool = False,
) -> RosterReport:
    """Check every row, then import all of it or none of it; audited (``by`` is None from the command line)."""
    report = RosterReport(dry_run=dry_run)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.add(
            1,
            _("The header must name the columns %(columns)s (and may name %(optional)s); missing: %(missing)s")
            % {"columns": ", ".join(REQUIRED), "optional": ", ".join(OPTIONAL), "missing": ", ".join(missing)},
        )
        return report
    version = consent_current_version(organisation)
    if version is None:
        report.add(1, _("the organisation has no consent text in effect: publish it before importing people"))
        return report

    groups = list(SupportGroup.objects.filter(organisation=organisation))
    groups_by_name = defaultdict(list)
    for group in groups:
        groups_by_name[group.name.strip().lower()].append(group)
        groups_by_name[str(group.pk)].append(group)
    group_names = sorted((group.name for group in groups), key=str.lower)
    this_year = timezone.localdate().year

    rows: list[_Row] = []
    seen: dict[tuple[str, int], int] = {}
    person: dict[str, tuple[str, int | None]] = {}
    for line, raw in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.add(line, _("the file has more than %(n)s rows; split it") % {"n": f"{MAX_ROWS:,}"})
            break
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        row = {column: row.get(column, "") for column in COLUMNS}
        problems: list[str] = []
        email = row["email"]
        try:
            validate_email(email)
        except ValidationError:
            problems.append(_("email “%(value)s” is not an e-mail address") % {"value": email})
        email = User.objects.normalize_email(email)
        if len(row["display_name"]) > 80:
            problems.append(_("display_name is longer than 80 characters"))
        year = None
        if row["year_of_birth"]:
            if not row["year_of_birth"].isdigit() or not 1900 <= int(row["year_of_birth"]) <= this_year:
                problems.append(
                    _("year_of_birth “%(value)s” must be a year from 1900 to %(year)s, or empty")
                    % {"value": row["year_of_birth"], "year": this_year}
                )
            else:
                year = int(row["year_of_birth"])
        group = None
        matches = groups_by_name.get(row["group"].lower(), [])
        if not matches:
            problems.append(unknown(_("group"), row["group"], group_names, quote=True))
        elif len(matches) > 1:
            problems.append(
                _("group “%(group)s”: more than one group has this name; use its number") % {"group": row["group"]}
            )
        else:
            group = matches[0]
        status = row["status"].lower()
        if status not in STATUSES:
            problems.append(unknown(_("status"), row["status"], STATUSES))
        joined, problem = parse_date("joined_date", row["joined_date"])
        problems += [problem] if problem else []
        left, problem = parse_date("left_date", row["left_date"], required=False)
        problems += [problem] if problem else []
        consent, problem = parse_date("consent_date", row["consent_date"])
        problems += [problem] if problem else []
        if status in STATUSES and row["left_date"] == "" and status != MembershipStatus.ACTIVE:
            problems.append(_("a %(status)s member needs a left_date") % {"status": status})
        if status == MembershipStatus.ACTIVE and row["left_date"]:
            problems.append(_("an active member has no left_date (is the status completed or withdrawn?)"))
        if joined and left and left < joined:
            problems.append(
                _("left_date (%(left)s) is before joined_date (%(joined)s)")
                % {"left": left.isoformat(), "joined": joined.isoformat()}
            )
        if consent and left and consent > left:
            problems.append(
                _("consent_date (%(consent)s) is after left_date (%(left)s)")
                % {"consent": consent.isoformat(), "left": left.isoformat()}
            )
        reason = row["withdrawal_reason"].lower()
        if reason and status != MembershipStatus.WITHDRAWN:
            problems.append(_("withdrawal_reason is only for a withdrawn member (status “%(s)s”)") % {"s": status})
        elif reason and reason not in WithdrawalReason.values:
            problems.append(unknown(_("withdrawal_reason"), row["withdrawal_reason"], WithdrawalReason.values))
        if not problems and group is not None:
            key = (email.lower(), group.pk)
            if key in seen:
                problems.append(
                    _("“%(email)s” in “%(group)s” is given twice (first on line %(first)s)")
                    % {"email": email, "group": group.name, "first": seen[key]}
                )
            seen.setdefault(key, line)
            details = (row["display_name"], year)
            if person.setdefault(email.lower(), details) != details:
                problems.append(
                    _("“%(email)s”: display_name or year_of_birth differs from an earlier row") % {"email": email}
                )
        for problem in problems:
            report.add(line, problem)
        if not problems:
            rows.append(_Row(line, email, row["display_name"], year, group, status, joined, left, reason, consent))

    if not report.ok:
        return report
    try:
        with transaction.atomic():
            _import(report, rows, organisation=organisation, version=version, by=by, request=request)
            if not report.ok or dry_run:
                raise _Rollback
            audit.record(
                AuditEvent.Action.ROSTER_IMPORTED,
                actor=by,
                organisation=organisation,
                request=request,
                rows=report.rows,
                people_created=report.people_created,
                people_existing=report.people_existing,
                consents_recorded=report.consents_recorded,
                memberships_created=dict(report.memberships_created),
                memberships_unchanged=report.memberships_unchanged,
            )
    except _Rollback:
        if not report.ok:
            report.people_created = report.people_existing = report.consents_recorded = 0
            report.memberships_created = Counter()
    return report


class _Rollback(Exception):
    pass


def _import(report: RosterReport, rows: list[_Row], *, organisation, version, by, request) -> None:
    users = {u.email.lower(): u for u in User.objects.filter(email__in=[row.email for row in rows])}
    # The same address in another case is one account: look each up once more without regard to case.
    people: dict[str, User] = {}
    first_consent: dict[str, dt.date] = {}
    for row in rows:
        key = row.email.lower()
        first_consent[key] = min(first_consent.get(key, row.consent), row.consent)
    for row in rows:
        key = row.email.lower()
        if key not in people:
            user = users.get(key) or User.objects.filter(email__iexact=row.email).first()
            if user is None:
                user = User.objects.create_user(
                    email=row.email, display_name=row.display_name, year_of_birth=row.year_of_birth
                )
                report.people_created += 1
            else:
                report.people_existing += 1
            role_grant(user=user, organisation=organisation, kind=RoleKind.MEMBER, by=by, request=request)
            _decision, new = consent_record_paper(
                user=user, version=version, on=first_consent[key], by=by, request=request
            )
            report.consents_recorded += new
            people[key] = user
        user = people[key]
        existing = Membership.objects.filter(group=row.group, user=user).first()
        if existing is not None:
            same = (
                existing.status == row.status
                and existing.joined_at is not None
                and existing.joined_at.date() == row.joined
                and (existing.left_at.date() if existing.left_at else None) == row.left
                and existing.withdrawal_reason == row.reason
            )
            if same:
                report.memberships_unchanged += 1
            else:
                report.add(
                    row.line,
                    _(
                        "“%(email)s” is already in “%(group)s” (%(status)s) with other days or status: the roster "
                        "does not change a membership (use the group's page)"
                    )
                    % {"email": user.email, "group": row.group.name, "status": existing.get_status_display()},
                )
            continue
        membership_record_past(
            group=row.group,
            user=user,
            status=row.status,
            joined_on=row.joined,
            left_on=row.left,
            reason=row.reason,
            by=by,
            request=request,
        )
        report.memberships_created[row.status] += 1
