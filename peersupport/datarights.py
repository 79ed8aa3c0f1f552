"""Data subject rights: a member's download of everything about them, erasure on request, and the retention job.

Every app that keeps rows about a person adds a **part** (``register``) from its ``AppConfig.ready``: what it puts
in the download (``export``: section name → rows), what an erasure does to its rows (``erase``), and which user
links it covers (``covers``: ``"app_label.Model.field"`` → what the erasure does to those rows). ``peersupport``
imports no feature app, so the groups, sessions and outcomes parts live in those apps (their ``datarights.py``).
``tests/core/test_datarights_coverage.py`` enumerates every foreign key and one-to-one link to the user model
through ``django.apps`` and fails when one is neither covered by a part nor in its commented allow-list.

**Download** (``download_zip``): one zip with ``data.json`` (every section) and one CSV per section, for the
signed-in person only; audited (``personal_data_downloaded``).

**Erasure** (``erase_user``): answers, scores, alerts, consents, roles, sign-in addresses, authenticators, e-mails
waiting or sent to the person and every identifying field of the account go. What an organisation keeps of the
member's records in it follows its ``erasure_rule``: ``keep_records`` keeps their memberships (withdrawn) and
attendance, attached to the erased account (which names no one), so attendance and participant-flow figures
already published stay as they were; ``remove_all`` removes them too. Either way the evaluation figures of every
group the member was in are marked stale and recomputed without their answers. The account row stays, blanked
(``erased_at`` set, no e-mail address, no password, inactive): the audit trail is append-only (on PostgreSQL a
trigger, migration 0011), so its rows keep pointing at it, their actor a pseudonym (``audit.actor_reference``)
that names no one.

**Requests** (``erasure_request``, ``erasure_decide``): a member asks; a lead of each of their organisations
approves or declines with a note; the erasure is carried out when every organisation has approved.

**Retention** (``inactive_accounts_sweep``, the daily ``erase_inactive_accounts`` job): an organisation may set a
period (``inactive_erasure_months``, a month counted as 30 days, off by default) after which a member with no
activity (``last_active``: signing in, answers, attendance, a membership's change) is warned by e-mail, and
``inactive_erasure_warning_days`` after the warning, if they still have not been active, erased as above. Members
of several organisations are erased only when every one of them has the rule on and its period has passed;
facilitators' and leads' accounts never are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .mail import queue_email
from .models import (
    AuditEvent,
    ConsentDecision,
    ErasureRequest,
    ErasureRule,
    ErasureStatus,
    Invitation,
    Organisation,
    OutboxMessage,
    Role,
    RoleKind,
    User,
)

Rows = list[dict]
Action = AuditEvent.Action


@dataclass
class Erasure:
    """What a part's ``erase`` needs: who is erased, by whom, and which organisations keep the member's records."""

    user: User
    by: User | None
    keep_records_in: frozenset[int]  # organisation ids whose erasure_rule is keep_records
    counts: dict[str, int] = field(default_factory=dict)

    def keeps(self, organisation_id: int) -> bool:
        return organisation_id in self.keep_records_in

    def count(self, name: str, number: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + number


@dataclass(frozen=True)
class Part:
    name: str
    export: Callable[[User], dict[str, Rows]]
    erase: Callable[[Erasure], None]
    #: ``"app_label.Model.field"`` of each link to the user (or to a row the user owns) this part covers → what the
    #: erasure does to those rows: "deleted…", "kept: why…", or "rule: …" (the organisation's erasure_rule decides).
    covers: dict[str, str]
    #: Erasure runs parts by this order (answers before the memberships they hang from); the download likewise.
    order: int = 50
    #: The person's latest activity this part knows of (an answer, a session attended), for the retention job.
    last_activity: Callable[[User], dt.datetime | None] | None = None


PARTS: dict[str, Part] = {}


def register(part: Part) -> None:
    PARTS[part.name] = part


def parts() -> list[Part]:
    return sorted(PARTS.values(), key=lambda part: (part.order, part.name))


def covered_links() -> dict[str, str]:
    links: dict[str, str] = {}
    for part in parts():
        links.update(part.covers)
    return links


# --- Download ----------------------------------------------------------------------------------------------------


def when(value) -> str | None:
    """A date or time as ISO 8601 (times in UTC), for the JSON and the CSV alike."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    return value.isoformat()


def personal_data(user: User) -> dict[str, Rows]:
    """Everything about ``user``, section by section (each a list of flat rows), from every registered part."""
    sections: dict[str, Rows] = {}
    for part in parts():
        sections.update(part.export(user))
    return sections


def _csv(rows: Rows) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or ["none"], extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
                for key, value in row.items()
            }
        )
    return out.getvalue()


README = """Your data from {site}, as it was at {at} (UTC).

data.json holds every section below; each CSV file holds one section, one row per line.
Times are in UTC. An empty CSV file (a header only) means we hold nothing of that kind about you.

{sections}

Who viewed your answers lists each time a facilitator or lead opened a page showing your answers.
To ask for your data to be erased, open your profile and choose "Ask for your data to be erased".
"""


def download_zip(user: User, *, request: HttpRequest | None = None) -> tuple[str, bytes]:
    """The file name and bytes of ``user``'s download; audited."""
    now = timezone.now()
    sections = personal_data(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        listing = "\n".join(f"- {name}.csv: {len(rows)} row(s)" for name, rows in sections.items())
        archive.writestr("README.txt", README.format(site=settings.SITE_NAME, at=when(now), sections=listing))
        archive.writestr("data.json", json.dumps(sections, indent=2, ensure_ascii=False, default=str))
        for name, rows in sections.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    audit.record(
        Action.PERSONAL_DATA_DOWNLOADED,
        actor=user,
        obj=user,
        request=request,
        sections={name: len(rows) for name, rows in sections.items()},
    )
    return f"my-data-{now:%Y-%m-%d}.zip", buffer.getvalue()


# --- This app's part ---------------------------------------------------------------------------------------------


def _views_of_answers(user: User):
    return (
        AuditEvent.objects.filter(action=Action.RESPONSES_VIEWED, detail__member_id=user.pk)
        .select_related("actor", "organisation")
        .order_by("at", "id")
    )


def _export_account(user: User) -> dict[str, Rows]:
    account = {
        "email": user.email,
        "display_name": user.display_name,
        "year_of_birth": user.year_of_birth,
        "preferred_language": user.preferred_language,
        "time_zone": user.time_zone,
        "safeguarding_contact": user.safeguarding_contact,
        "name_on_public_pages": user.name_on_public_pages,
        "date_joined": when(user.date_joined),
        "last_sign_in": when(user.last_login),
    }
    return {
        "account": [account],
        "email_addresses": [
            {"email": a.email, "verified": a.verified, "primary": a.primary}
            for a in EmailAddress.objects.filter(user=user).order_by("id")
        ],
        "second_factor": [  # what kind and when, never the secret
            {"type": a.type, "created_at": when(a.created_at), "last_used_at": when(a.last_used_at)}
            for a in Authenticator.objects.filter(user=user).order_by("id")
        ],
        "roles": [
            {"organisation": r.organisation.name, "role": r.get_kind_display(), "granted_at": when(r.granted_at)}
            for r in Role.objects.filter(user=user).select_related("organisation").order_by("granted_at", "id")
        ],
        "consents": [
            {
                "organisation": d.consent_version.organisation.name,
                "consent_version": d.consent_version.version,
                "decision": d.get_action_display(),
                "how": d.get_source_display(),
                "at": when(d.at),
            }
            for d in ConsentDecision.objects.filter(user=user)
            .select_related("consent_version__organisation")
            .order_by("at", "id")
        ],
        "invitations_accepted": [
            {"organisation": i.organisation.name, "role": i.get_kind_display(), "used_at": when(i.used_at)}
            for i in Invitation.objects.filter(used_by=user).select_related("organisation").order_by("id")
        ],
        "erasure_requests": [
            {
                "organisation": r.organisation.name,
                "requested_at": when(r.requested_at),
                "reason": r.reason,
                "status": r.get_status_display(),
                "decided_at": when(r.decided_at),
                "decision_note": r.decision_note,
            }
            for r in ErasureRequest.objects.filter(user=user).select_related("organisation")
        ],
        "who_viewed_your_answers": [
            {
                "at": when(e.at),
                "who": e.actor.name if e.actor is not None else _("an account since deleted"),
                "organisation": e.organisation.name if e.organisation else "",
                "where": e.detail.get("via", ""),
            }
            for e in _views_of_answers(user)
        ],
        "your_actions_in_the_audit_trail": [
            {
                "at": when(e.at),
                "action": e.get_action_display(),
                "organisation": e.organisation.name if e.organisation else "",
                "about": f"{e.object_type} {e.object_id}".strip(),
            }
            for e in AuditEvent.objects.filter(actor=user).select_related("organisation").order_by("at", "id")
        ],
    }


def _erase_account(erasure: Erasure) -> None:
    user = erasure.user
    email = user.email
    erasure.count("email_addresses", EmailAddress.objects.filter(user=user).delete()[0])
    erasure.count("authenticators", Authenticator.objects.filter(user=user).delete()[0])
    erasure.count("roles", Role.objects.filter(user=user).delete()[0])
    erasure.count("consent_decisions", ConsentDecision.objects.filter(user=user).delete()[0])
    # Invitations to this address carry it; those the person accepted, their link. (Invitations they sent as a
    # lead are the organisation's record and stay, pointing at the erased account.)
    erasure.count("invitations", Invitation.objects.filter(Q(email__iexact=email) | Q(used_by=user)).delete()[0])
    erasure.count("emails", OutboxMessage.objects.filter(recipient__iexact=email).delete()[0])
    user.email = f"erased-{audit.actor_reference(user.pk)}@erased.invalid"
    user.display_name = ""
    user.year_of_birth = None
    user.safeguarding_contact = ""
    user.name_on_public_pages = False
    user.time_zone = "UTC"
    user.preferred_language = settings.LANGUAGE_CODE
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.inactivity_warned_at = None
    user.erased_at = timezone.now()
    user.set_unusable_password()  # also ends every session: Django checks the password hash on each request
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


register(
    Part(
        name="account",
        export=_export_account,
        erase=_erase_account,
        order=90,  # last: the other parts read the memberships and the address first
        covers={
            "account.EmailAddress.user": "deleted",
            "mfa.Authenticator.user": "deleted",
            "peersupport.Role.user": "deleted",
            "peersupport.ConsentDecision.user": "deleted",
            "peersupport.Invitation.used_by": "deleted (with every invitation to the address)",
            "peersupport.ErasureRequest.user": "kept: the record that the erasure was asked for and decided",
            "peersupport.AuditEvent.actor": "kept: append-only; the row's actor is the erased account's pseudonym",
        },
    )
)


# --- Erasure -----------------------------------------------------------------------------------------------------


def organisations_of(user: User) -> list[Organisation]:
    """Every organisation holding something of ``user``: a role, or a membership of one of its groups."""
    ids = set(Role.objects.filter(user=user).values_list("organisation_id", flat=True))
    ids |= set(user.memberships.values_list("group__organisation_id", flat=True))
    return list(Organisation.objects.filter(pk__in=ids).order_by("name"))


@transaction.atomic
def erase_user(user: User, *, by: User | None, reason: str, request: HttpRequest | None = None) -> dict[str, int]:
    """Erase ``user`` (see the module's doc); once only. Returns how many rows of each kind went."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.erased_at is not None:
        return {}
    organisations = organisations_of(user)
    erasure = Erasure(
        user=user,
        by=by if by is not None and by.pk != user.pk else None,
        keep_records_in=frozenset(o.pk for o in organisations if o.erasure_rule == ErasureRule.KEEP_RECORDS),
    )
    for part in parts():
        part.erase(erasure)
    for organisation in organisations or [None]:
        audit.record(
            Action.ACCOUNT_ERASED,
            actor=by,
            organisation=organisation,
            obj=user,
            request=request,
            reason=reason,
            rule=organisation.erasure_rule if organisation else "",
            removed=erasure.counts,
        )
    return erasure.counts


def _leads_of(organisation: Organisation) -> list[str]:
    return list(
        User.objects.filter(roles__organisation=organisation, roles__kind=RoleKind.LEAD, is_active=True)
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def pending_requests_of(user: User):
    return ErasureRequest.objects.filter(user=user, status=ErasureStatus.PENDING).select_related("organisation")


@transaction.atomic
def erasure_request(*, user: User, reason: str = "", request: HttpRequest | None = None) -> list[ErasureRequest]:
    """A person asks for their data to be erased: one request per organisation, each e-mailed to its leads.
    Someone in no organisation at all is erased at once (there is nobody to review it)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if pending_requests_of(user).exists():
        raise ValidationError(_("You have already asked. A lead of each of your organisations will review it."))
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise ValidationError({"reason": _("Please keep it under 1,000 characters.")})
    organisations = organisations_of(user)
    if not organisations:
        erase_user(user, by=user, reason="request", request=request)
        return []
    made, batch = [], uuid.uuid4()
    for organisation in organisations:
        row = ErasureRequest.objects.create(user=user, organisation=organisation, reason=reason, batch=batch)
        made.append(row)
        audit.record(Action.ERASURE_REQUESTED, actor=user, organisation=organisation, obj=row, request=request)
        leads = _leads_of(organisation)
        if leads:
            url = settings.SITE_URL + reverse("lead_erasure_requests", args=[organisation.slug])
            queue_email(
                subject=_("A member asked for their data to be erased"),
                body=_(
                    "A member of %(organisation)s asked for their data to be erased. A lead reviews the request: "
                    "approve it, or decline it with a note for the member.\n\nReview it here: %(url)s"
                )
                % {"organisation": organisation.name, "url": url},
                to=leads,
                dedupe_key=f"erasure-request:{row.pk}",
                about=("erasure_request", row.pk),
            )
    return made


@transaction.atomic
def erasure_decide(
    *, erasure_request: ErasureRequest, by: User, approve: bool, note: str = "", request: HttpRequest | None = None
) -> ErasureRequest:
    """A lead approves or declines one organisation's request (a note is needed to decline: the member reads it).
    When every organisation of the request has approved, the erasure is carried out."""
    row = (
        ErasureRequest.objects.select_for_update(of=("self",))
        .select_related("user", "organisation")
        .get(pk=erasure_request.pk)
    )
    note = (note or "").strip()
    if row.status != ErasureStatus.PENDING:
        raise ValidationError(_("This request was already decided."))
    if row.user_id == by.pk:
        raise ValidationError(_("Another lead must review your own request."))
    if not approve and not note:
        raise ValidationError({"note": _("Say why you decline it: the member is e-mailed this note.")})
    if len(note) > 1000:
        raise ValidationError({"note": _("Please keep the note under 1,000 characters.")})
    row.status = ErasureStatus.APPROVED if approve else ErasureStatus.DECLINED
    row.decided_by, row.decided_at, row.decision_note = by, timezone.now(), note
    row.save()
    audit.record(
        Action.ERASURE_REQUEST_APPROVED if approve else Action.ERASURE_REQUEST_DECLINED,
        actor=by,
        organisation=row.organisation,
        obj=row,
        request=request,
        note=note,
    )
    if not approve:
        queue_email(
            subject=_("Your request to erase your data"),
            body=_(
                "%(organisation)s has declined your request to erase your data, with this note:\n\n%(note)s\n\n"
                "Your account and your data stay as they were. You can ask again from your profile."
            )
            % {"organisation": row.organisation.name, "note": note},
            to=[row.user.email],
            about=("erasure_request", row.pk),
        )
        # The rest of the request no longer leads to an erasure: close it, so the member can ask again.
        for other in ErasureRequest.objects.filter(batch=row.batch, status=ErasureStatus.PENDING):
            other.status, other.decided_at = ErasureStatus.DECLINED, row.decided_at
            other.decision_note = _("Closed: %(organisation)s declined.") % {"organisation": row.organisation.name}
            other.save()
        return row
    batch = ErasureRequest.objects.filter(batch=row.batch)
    if not batch.exclude(status=ErasureStatus.APPROVED).exists():
        erase_user(row.user, by=by, reason="request", request=request)
        batch.update(erased_at=timezone.now())
        row.refresh_from_db()
    return row


def requests_for(organisation: Organisation):
    """An organisation's erasure requests, waiting ones first (for the lead's review page)."""
    return (
        ErasureRequest.objects.filter(organisation=organisation)
        .select_related("user", "decided_by")
        .order_by("-status", "-requested_at", "-id")  # "pending" sorts last by name: descending puts it first
    )


# --- Retention ---------------------------------------------------------------------------------------------------

DAYS_PER_MONTH = 30


@dataclass
class SweepReport:
    warned: int = 0
    erased: int = 0


def last_active(user: User) -> dt.datetime:
    """The latest of signing in, joining, and what any part knows (answers, attendance, a membership's change):
    a member imported from paper who never signs in but attends is not inactive."""
    times = [user.last_login, user.date_joined]
    times += [part.last_activity(user) for part in parts() if part.last_activity is not None]
    return max(filter(None, times))


def _retention_of(organisations: list[Organisation]) -> tuple[dt.timedelta, dt.timedelta] | None:
    """The period and the warning's notice for someone in all these organisations; None when any has it off."""
    if not organisations or any(o.inactive_erasure_months is None for o in organisations):
        return None
    period = max(o.inactive_erasure_months for o in organisations) * DAYS_PER_MONTH
    notice = max(o.inactive_erasure_warning_days for o in organisations)
    return dt.timedelta(days=period), dt.timedelta(days=notice)


def inactive_accounts_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """Warn, then erase, members inactive past their organisations' period (see the module's doc). Safe to run
    again: a warning is sent once per stretch of inactivity, and an erasure happens once."""
    now = now or timezone.now()
    report = SweepReport()
    staff = Role.objects.filter(kind__in=[RoleKind.FACILITATOR, RoleKind.LEAD]).values("user_id")
    candidates = (
        User.objects.filter(
            erased_at__isnull=True,
            is_staff=False,
            is_superuser=False,
            roles__kind=RoleKind.MEMBER,
            roles__organisation__inactive_erasure_months__isnull=False,
        )
        .exclude(pk__in=staff)
        .distinct()
        .order_by("pk")
    )
    for user in candidates.iterator(chunk_size=500):
        retention = _retention_of(organisations_of(user))
        if retention is None:
            continue
        period, notice = retention
        since = last_active(user)
        due = since + period
        warned = user.inactivity_warned_at is not None and user.inactivity_warned_at >= since
        if not warned and now >= due - notice:
            _warn_inactive(user, since=since, erase_on=max(due, now + notice), now=now)
            report.warned += 1
        elif warned and now >= max(due, user.inactivity_warned_at + notice):
            erase_user(user, by=None, reason="inactive")
            report.erased += 1
    return report


@transaction.atomic
def _warn_inactive(user: User, *, since: dt.datetime, erase_on: dt.datetime, now: dt.datetime) -> None:
    User.objects.filter(pk=user.pk).update(inactivity_warned_at=now)
    local = timezone.localtime(erase_on, timezone=zoneinfo.ZoneInfo(user.time_zone or "UTC"))
    queue_email(
        subject=_("Your account will be erased unless you sign in"),
        body=_(
            "We have not seen you on %(site)s since %(since)s (no sign-in, answers or attendance). Your organisation "
            "erases the accounts and data of members who stay away this long: yours will be erased on or after "
            "%(date)s unless you sign in before then.\n\nTo keep your account, just sign in: %(url)s\n"
            "To keep a copy of your data first, sign in and download it from your profile."
        )
        % {
            "site": settings.SITE_NAME,
            "since": f"{since:%d %B %Y}",
            "date": f"{local:%d %B %Y}",
            "url": settings.SITE_URL + reverse("account_login"),
        },
        to=[user.email],
        dedupe_key=f"inactivity-warning:{user.pk}:{since.isoformat()}",
        about=("user", user.pk),
    )
    for organisation in organisations_of(user):
        audit.record(Action.INACTIVE_ACCOUNT_WARNED, organisation=organisation, obj=user, erase_on=when(erase_on))
