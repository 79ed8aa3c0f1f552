from __future__ import annotations

import datetime as dt

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from peersupport.models import ConsentDecision, ConsentVersion, Organisation, Role, RoleKind, User

PASSWORD = "correct-horse-battery-staple"
# Facilitators, leads and staff made here have an authenticator app with this secret (peersupport.secondfactor
# asks them for one); a test computes its codes with ``totp_code``. ``second_factor=False`` makes one without.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol_second_factor(user: User, secret: str = TOTP_SECRET) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    user.__dict__.pop("_has_second_factor", None)


def totp_code(secret: str = TOTP_SECRET, at: float | None = None) -> str:
    """The six digits an authenticator app shows now, computed as allauth checks them."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time() if at is None else at) // 30))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Person {n}")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def second_factor(obj, create, extracted, **kwargs):
        if create and (obj.is_staff or obj.is_superuser) and extracted is not False:
            enrol_second_factor(obj)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Service {n}")
    slug = factory.Sequence(lambda n: f"service-{n}")
    time_zone = "Europe/London"
    crisis_support_text = "Call 116 123 at any time."


class RoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Role
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    kind = RoleKind.MEMBER

    @factory.post_generation
    def second_factor(obj, create, extracted, **kwargs):
        if create and obj.kind in (RoleKind.FACILITATOR, RoleKind.LEAD) and extracted is not False:
            enrol_second_factor(obj.user)


class ConsentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentVersion

    organisation = factory.SubFactory(OrganisationFactory)
    version = factory.Sequence(lambda n: n + 1)
    effective_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    text = "We keep your answers to learn whether the groups help."


def person(organisation: Organisation, kind: str = RoleKind.MEMBER, *, second_factor: bool = True, **kwargs) -> User:
    user = UserFactory(second_factor=second_factor, **kwargs)
    RoleFactory(user=user, organisation=organisation, kind=kind, second_factor=second_factor)
    return user


def consenting_member(organisation: Organisation, **kwargs) -> User:
    """A member who has accepted the organisation's current consent version (creating one if needed)."""
    version = organisation.consent_versions.order_by("-version").first() or ConsentVersionFactory(
        organisation=organisation, version=1
    )
    user = person(organisation, RoleKind.MEMBER, **kwargs)
    ConsentDecision.objects.create(user=user, consent_version=version, action=ConsentDecision.Action.GIVEN)
    return user


# --- Groups ---------------------------------------------------------------------

from groups.models import (  # noqa: E402
    Curriculum,
    CurriculumKind,
    CurriculumUnit,
    GroupFacilitator,
    GroupFormat,
    Membership,
    MembershipEvent,
    MembershipStatus,
    SupportGroup,
)
from groups.models import Facilitation as FacilitationKind  # noqa: E402


class CurriculumFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Curriculum
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    kind = CurriculumKind.SELF_MANAGEMENT
    title = factory.Sequence(lambda n: f"Course {n}")

    @factory.post_generation
    def units(obj, create, extracted, **kwargs):
        if create:
            for position in range(1, (extracted if extracted is not None else 8) + 1):
                CurriculumUnit.objects.create(curriculum=obj, position=position, title=f"Class {position}")


class SupportGroupFactory(factory.django.DjangoModelFactory):
    """A peer-led structured group by default; pass ``format=GroupFormat.UNSTRUCTURED, curriculum=None`` for others."""

    class Meta:
        model = SupportGroup

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    curriculum = factory.SubFactory(CurriculumFactory, organisation=factory.SelfAttribute("..organisation"))
    format = GroupFormat.STRUCTURED
    facilitation = FacilitationKind.PEER_LED
    delivery = "online"
    capacity = 12
    time_zone = "Europe/London"
    online_url = "https://meet.example.org/room-42"
    status = "running"


def facilitated_group(organisation: Organisation | None = None, **kwargs) -> tuple[SupportGroup, User]:
    """A group with one facilitator who holds the facilitator role in its organisation."""
    group = SupportGroupFactory(**({"organisation": organisation} if organisation else {}), **kwargs)
    facilitator = person(group.organisation, RoleKind.FACILITATOR)
    GroupFacilitator.objects.create(group=group, user=facilitator)
    return group, facilitator


def active_member(group: SupportGroup, **kwargs) -> Membership:
    """A consenting member with an active membership (and its history row)."""
    user = consenting_member(group.organisation, **kwargs)
    now = timezone.now()
    membership = Membership.objects.create(group=group, user=user, status=MembershipStatus.ACTIVE, joined_at=now)
    MembershipEvent.objects.create(membership=membership, to_status=MembershipStatus.ACTIVE, at=now, via="test")
    return membership


# --- Sessions --------------------------------------------------------------------

from sessions.models import GroupSession  # noqa: E402


class GroupSessionFactory(factory.django.DjangoModelFactory):
    """A scheduled 90-minute session starting tomorrow at this time, in a peer-led group."""

    class Meta:
        model = GroupSession

    group = factory.SubFactory(SupportGroupFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    starts_at = factory.LazyFunction(lambda: timezone.now().replace(microsecond=0) + dt.timedelta(days=1))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(minutes=90))


# --- Groups: enrolment ------------------------------------------------------------


def membership_in(group: SupportGroup, status: str = MembershipStatus.ACTIVE, user: User | None = None) -> Membership:
    """A consenting member in ``group`` with ``status`` (waiting-list order is creation order), with its history row."""
    user = user or consenting_member(group.organisation)
    now = timezone.now()
    membership = Membership.objects.create(
        group=group,
        user=user,
        status=status,
        joined_at=now if status in (MembershipStatus.ACTIVE, MembershipStatus.COMPLETED) else None,
        waitlisted_at=now if status == MembershipStatus.WAITLISTED else None,
    )
    MembershipEvent.objects.create(membership=membership, to_status=status, at=now, via="test")
    return membership


# --- Outcomes: plans, assessments, answers ------------------------------------------

from outcomes.models import (  # noqa: E402
    Anchor,
    Assessment,
    AssessmentStatus,
    MeasurementPlan,
    PlanInstrument,
    PlanTimePoint,
    Response,
    ResponseSource,
)


class MeasurementPlanFactory(factory.django.DjangoModelFactory):
    """A plan on one group (pass ``group``); its organisation is the group's."""

    class Meta:
        model = MeasurementPlan

    group = factory.SubFactory(SupportGroupFactory)
    organisation = factory.SelfAttribute("group.organisation")
    name = "Plan"


class PlanTimePointFactory(factory.django.DjangoModelFactory):
    """A time point anchored on joining, open from a day before for a fortnight."""

    class Meta:
        model = PlanTimePoint

    plan = factory.SubFactory(MeasurementPlanFactory)
    time_point = "baseline"
    anchor = Anchor.JOINED
    opens_days = -1
    closes_days = 14


class PlanInstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanInstrument

    time_point = factory.SubFactory(PlanTimePointFactory)
    instrument_code = "phq9"
    instrument_version = 1
    position = 0


#: The plan most questionnaire tests use: PHQ-9 and GAD-7 at baseline (a day before joining to day 14), PHQ-9
#: at the end (days 60 to 90).
DEFAULT_PLAN = {"baseline": (["phq9", "gad7"], -1, 14), "post": (["phq9"], 60, 90)}


def plan(group: SupportGroup, spec: dict | None = None) -> MeasurementPlan:
    """A plan on the group: time point → (instrument codes, opens, closes), windows anchored on joining."""
    the_plan = MeasurementPlanFactory(group=group)
    for time_point, (codes, opens, closes) in (spec or DEFAULT_PLAN).items():
        tp = PlanTimePointFactory(plan=the_plan, time_point=time_point, opens_days=opens, closes_days=closes)
        for position, code in enumerate(codes):
            PlanInstrumentFactory(time_point=tp, instrument_code=code, position=position)
    return the_plan


def planned_member(organisation: Organisation | None = None, **group_fields):
    """A facilitated group with the default plan and one active member whose assessments exist (none opened
    or sent yet): (group, facilitator, membership)."""
    from outcomes.questionnaires.lifecycle import assessments_ensure

    group, facilitator = facilitated_group(organisation, **group_fields)
    plan(group)
    membership = active_member(group)
    assessments_ensure(membership)
    return group, facilitator, membership


def lead_and_group(**group_fields) -> tuple[User, SupportGroup, User]:
    """A lead of an organisation with one facilitated group in it: (lead, group, facilitator)."""
    group, facilitator = facilitated_group(**group_fields)
    return person(group.organisation, RoleKind.LEAD), group, facilitator


def completed_assessment(membership: Membership, time_point: str, when=None) -> Assessment:
    """The member's assessment at ``time_point``, made completed if there is none yet."""
    defaults = {"status": AssessmentStatus.COMPLETED}
    if when is not None:
        defaults["completed_at"] = when
    assessment, _ = Assessment.objects.get_or_create(membership=membership, time_point=time_point, defaults=defaults)
    return assessment


def answered(membership: Membership, time_point: str, total, code: str = "wemwbs", subscales=None) -> Response:
    """A submitted response with only its scores (total and subscales), as the evaluation reads them."""
    return Response.objects.create(
        assessment=completed_assessment(membership, time_point),
        instrument_code=code,
        instrument_version=1,
        total=total,
        scores={"total": total, "subscales": subscales or {}},
        submitted_at=timezone.now(),
    )


def submitted(
    membership: Membership,
    time_point: str,
    answers: dict,
    *,
    code: str = "phq9",
    version: int = 1,
    source: str = ResponseSource.ONLINE,
    when=None,
    total=None,
) -> Response:
    """A submitted response with its item answers (and, if given, its total), as the exports read them."""
    when = when or timezone.now()
    return Response.objects.create(
        assessment=completed_assessment(membership, time_point, when),
        instrument_code=code,
        instrument_version=version,
        answers=answers,
        total=total,
        source=source,
        submitted_at=when,
    )
