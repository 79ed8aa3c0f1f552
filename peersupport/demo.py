"""Demo data of the core app: two organisations, so a visitor can see that nothing crosses between them,
with their people, roles and consent.

``seed_demo`` calls ``seed()`` here, then the ``demo`` module of each feature app in turn, passing the
organisations in: this app imports none of them. Idempotent: every row is looked up by a natural key before
it is created, so running ``seed_demo`` twice leaves the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Q

from .models import ConsentDecision, ConsentVersion, Organisation, Role, RoleKind, User

DEMO_PASSWORD = "peer-support-demo"
# The demo's facilitators, leads and staff have an authenticator app with this secret (they need a second factor,
# peersupport.secondfactor): add it once to any authenticator app (a "setup key", time-based) and type the six
# digits it shows after the password. Public on purpose: it is a demo.
DEMO_TOTP_SECRET = "PEERSUPPORTDEMOPEERSUPPORTDEMO22"
MEMBERS_PER_ORGANISATION = 20
STAFF_EMAIL = "admin@peersupport.example"

CONSENT_TEXT = (
    "We run peer support groups and ask members a few questionnaires at the start, the end and some "
    "months after a group, to learn whether our groups help.\n\n"
    "If you agree, we keep your answers and attendance with your account. Facilitators see whether you "
    "are due a questionnaire, not your answers. Reports only ever show figures about five people or more.\n\n"
    "You can withdraw at any time from this page; we then stop collecting new information from you."
)


PUBLIC_DESCRIPTION = (
    "%(name)s runs free peer support groups for adults and young people living with mental-health problems. "
    "Each group is run by peers: people who have lived through it themselves. Some are courses of weekly "
    "classes; others are a space to share how the week went."
)


@dataclass(frozen=True)
class DemoOrganisation:
    slug: str
    name: str
    time_zone: str
    domain: str
    crisis: str


ORGANISATIONS = [
    DemoOrganisation(
        slug="northbridge",
        name="Northbridge Peer Support",
        time_zone="Europe/London",
        domain="northbridge.example",
        crisis=(
            "If you are in danger now, call 999. For urgent mental-health help call NHS 111 and choose the "
            "mental-health option. Samaritans answer day and night on 116 123."
        ),
    ),
    DemoOrganisation(
        slug="riverside",
        name="Riverside Recovery Network",
        time_zone="America/New_York",
        domain="riverside.example",
        crisis="If you are in danger now, call 911. For a mental-health crisis, call or text 988, day or night.",
    ),
]


def demo_logins() -> list[tuple[str, str]]:
    """(organisation, e-mail) of the accounts worth trying, for the printout."""
    rows = [("Django admin (staff)", STAFF_EMAIL)]
    for org in ORGANISATIONS:
        rows.append((org.name, f"lead@{org.domain}"))
        rows.append((org.name, f"facilitator1@{org.domain}"))
        rows.append((org.name, f"member01@{org.domain}"))
    return rows


def _demo_staff_emails() -> list[str]:
    emails = [STAFF_EMAIL]
    for org in ORGANISATIONS:
        emails += [f"lead@{org.domain}", f"facilitator1@{org.domain}", f"facilitator2@{org.domain}"]
    return emails


def _enrol_second_factor(user: User) -> None:
    """The demo authenticator (DEMO_TOTP_SECRET), once."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)


def demo_totp_url() -> str:
    """The otpauth:// address of the demo secret (what the square code of an enrolment page holds)."""
    issuer = settings.MFA_TOTP_ISSUER
    return f"otpauth://totp/{quote(issuer)}:demo-staff?" + urlencode({"secret": DEMO_TOTP_SECRET, "issuer": issuer})


def _user(email: str, display_name: str, password_hash: str, time_zone: str) -> User:
    user, created = User.objects.get_or_create(
        email=email,
        defaults={"display_name": display_name, "password": password_hash, "time_zone": time_zone},
    )
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


@transaction.atomic
def seed() -> tuple[list[Organisation], dict[str, int]]:
    """Create (or find) the demo organisations and people. Returns the organisations and the count of each
    kind of row, for the printout."""
    # Hash once: the same password for every demo account, and seeding stays fast.
    password_hash = make_password(DEMO_PASSWORD)
    today = dt.date.today()
    organisations = []
    for spec in ORGANISATIONS:
        org, _ = Organisation.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "time_zone": spec.time_zone,
                "crisis_support_text": spec.crisis,
                "public_page": True,
                "public_description": PUBLIC_DESCRIPTION % {"name": spec.name},
            },
        )
        organisations.append(org)
        version, _ = ConsentVersion.objects.get_or_create(
            organisation=org,
            version=1,
            defaults={"effective_date": today - dt.timedelta(days=180), "text": CONSENT_TEXT},
        )
        lead = _user(f"lead@{spec.domain}", f"Lead ({spec.name.split()[0]})", password_hash, spec.time_zone)
        Role.objects.get_or_create(user=lead, organisation=org, kind=RoleKind.LEAD)
        for n in (1, 2):
            facilitator = _user(f"facilitator{n}@{spec.domain}", f"Facilitator {n}", password_hash, spec.time_zone)
            Role.objects.get_or_create(user=facilitator, organisation=org, kind=RoleKind.FACILITATOR)
        for n in range(1, MEMBERS_PER_ORGANISATION + 1):
            member = _user(f"member{n:02d}@{spec.domain}", f"Member {n:02d}", password_hash, spec.time_zone)
            # Ages spread across adults and young people (14–24), for youth groups.
            if member.year_of_birth is None:
                member.year_of_birth = today.year - (16 + (n * 7) % 50)
                member.save(update_fields=["year_of_birth"])
            Role.objects.get_or_create(user=member, organisation=org, kind=RoleKind.MEMBER)
            ConsentDecision.objects.get_or_create(
                user=member,
                consent_version=version,
                action=ConsentDecision.Action.GIVEN,
                defaults={"at": dt.datetime.combine(version.effective_date, dt.time(12), tzinfo=dt.UTC)},
            )
    staff, _ = User.objects.get_or_create(
        email=STAFF_EMAIL,
        defaults={"display_name": "Site operator", "password": password_hash, "is_staff": True, "is_superuser": True},
    )
    EmailAddress.objects.get_or_create(user=staff, email=STAFF_EMAIL, defaults={"verified": True, "primary": True})
    for user in User.objects.filter(
        Q(is_staff=True) | Q(roles__kind__in=[RoleKind.FACILITATOR, RoleKind.LEAD]), email__in=_demo_staff_emails()
    ).distinct():
        _enrol_second_factor(user)
    return organisations, {
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "roles": Role.objects.count(),
        "consent decisions": ConsentDecision.objects.count(),
    }
