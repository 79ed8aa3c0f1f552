"""Demo groups in each demo organisation, seeded through the services so their history is real.

``seed_demo`` calls ``seed(organisations)`` after the people exist and before the
sessions are seeded, and ``finish(organisations)`` once every app has seeded.
Idempotent: the starter curricula are found by family, groups by name and
memberships by (group, person), so a second run adds nothing.
No sessions here: ``sessions.demo`` adds those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction

from peersupport.models import Organisation, User

from .models import (
    Curriculum,
    CurriculumKind,
    Delivery,
    Facilitation,
    GroupFormat,
    GroupStatus,
    Membership,
    MembershipStatus,
    SupportGroup,
    WithdrawalReason,
)
from .services import curricula as curriculum_services
from .services import groups as group_services
from .services import membership as membership_services


@dataclass(frozen=True)
class DemoGroup:
    name: str
    description: str
    format: str
    facilitation: str
    delivery: str
    capacity: int
    status: str
    curriculum_kind: str | None = None
    facilitators: tuple[int, ...] = ()  # facilitator1, facilitator2
    open_to_requests: bool = False
    active: tuple[int, ...] = ()  # member numbers, enrolled in this order
    waiting: tuple[int, ...] = ()  # enrolled once the group is full, so they queue
    withdrawn: tuple[tuple[int, str, str], ...] = ()  # (member, reason, note): joined, then left
    requested: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)


GROUPS = [
    DemoGroup(
        name="Steering my own recovery (Tuesday course)",
        description="Ten weekly classes on building your own plan for staying well.",
        format=GroupFormat.STRUCTURED,
        facilitation=Facilitation.PEER_LED,
        delivery=Delivery.IN_PERSON,
        capacity=10,
        status=GroupStatus.RUNNING,
        curriculum_kind=CurriculumKind.SELF_MANAGEMENT,
        facilitators=(1, 2),
        active=(1, 2, 3, 4, 5, 6, 7, 8),
        withdrawn=((9, WithdrawalReason.TIME_OR_PLACE, "Started a new job with evening shifts."),),
        extra={"location": "Community centre, room 2 (step-free access)"},
    ),
    DemoGroup(
        name="Owning my story (online course)",
        description="Eight online classes on stigma, disclosure decisions and telling your story your way.",
        format=GroupFormat.STRUCTURED,
        facilitation=Facilitation.PEER_LED,
        delivery=Delivery.ONLINE,
        capacity=7,
        status=GroupStatus.RECRUITING,
        curriculum_kind=CurriculumKind.ANTI_STIGMA,
        facilitators=(2,),
        # member01 too: its baseline questionnaires are open from two weeks before the first session, so a demo
        # member has something to answer on first sign-in.
        active=(1, 10, 11, 12, 13, 14, 15),
        waiting=(16,),
        extra={"online_url": "https://meet.example.org/owning-my-story"},
    ),
    DemoGroup(
        name="Thursday evening online circle",
        description="A relaxed, peer-led space to share how the week went. Drop in when it suits you.",
        format=GroupFormat.UNSTRUCTURED,
        facilitation=Facilitation.PEER_LED,
        delivery=Delivery.ONLINE,
        capacity=12,
        status=GroupStatus.RUNNING,
        facilitators=(1,),
        open_to_requests=True,
        active=(1, 17, 18, 19),
        withdrawn=((3, WithdrawalReason.FEELING_BETTER, ""),),
        requested=(20,),
        extra={"online_url": "https://meet.example.org/thursday-circle"},
    ),
    DemoGroup(
        name="Walk and talk peer group",
        description="Members meet by the park gates and walk together. No facilitator: everyone shares the running.",
        format=GroupFormat.UNSTRUCTURED,
        facilitation=Facilitation.PEER_TO_PEER,
        delivery=Delivery.IN_PERSON,
        capacity=15,
        status=GroupStatus.RUNNING,
        active=(2, 5, 20),
        extra={"location": "Main gates of the park, by the café"},
    ),
    DemoGroup(
        name="Steering my own recovery (spring course)",
        description="The spring run of the self-management course, finished some months ago.",
        format=GroupFormat.STRUCTURED,
        facilitation=Facilitation.PEER_LED,
        delivery=Delivery.IN_PERSON,
        capacity=14,
        status=GroupStatus.COMPLETED,
        curriculum_kind=CurriculumKind.SELF_MANAGEMENT,
        facilitators=(2,),
        active=(4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 17, 18, 19),
        withdrawn=((5, WithdrawalReason.HEALTH, ""),),
        extra={"location": "Library meeting room"},
    ),
    DemoGroup(
        # Finished at the same time as the spring course: its members' change beside the course's is the
        # evaluation's structured-against-unstructured comparison.
        name="Wednesday peer circle (spring season)",
        description="The spring season of an open, peer-led sharing circle, finished some months ago.",
        format=GroupFormat.UNSTRUCTURED,
        facilitation=Facilitation.PEER_LED,
        delivery=Delivery.IN_PERSON,
        capacity=12,
        status=GroupStatus.COMPLETED,
        facilitators=(1,),
        active=(1, 2, 3, 5, 9, 12, 17, 18, 19, 20),
        extra={"location": "Community centre, room 1"},
    ),
]

# A finished course: its sessions ended this many weeks before the first seeding, so its end-of-course and
# 3-month follow-up questionnaires are already in the past (sessions.demo and outcomes.demo read this).
PAST_COURSE_ENDED_WEEKS_AGO = 14


def is_past_course(group: SupportGroup) -> bool:
    return any(spec.name == group.name and spec.status == GroupStatus.COMPLETED for spec in GROUPS)


STATUS_PATH = [GroupStatus.RECRUITING, GroupStatus.RUNNING, GroupStatus.COMPLETED]


def _curriculum(organisation: Organisation, kind: str) -> Curriculum:
    family = next(
        curriculum_services.starter_family(organisation, entry["key"])
        for entry in curriculum_services.starter_curricula()
        if entry["kind"] == kind
    )
    return Curriculum.objects.filter(family=family).order_by("-version").first()


def _group(organisation: Organisation, spec: DemoGroup, people: dict[str, User], lead: User) -> SupportGroup:
    group = SupportGroup.objects.filter(organisation=organisation, name=spec.name).first()
    if group is not None:
        return group
    facilitators = [people[f"facilitator{n}"] for n in spec.facilitators]
    group = group_services.group_create(
        organisation=organisation,
        by=lead,
        facilitators=facilitators,
        name=spec.name,
        description=spec.description,
        format=spec.format,
        facilitation=spec.facilitation,
        delivery=spec.delivery,
        capacity=spec.capacity,
        time_zone=organisation.time_zone,
        open_to_requests=spec.open_to_requests,
        listed_publicly=spec.status != GroupStatus.COMPLETED,  # on the organisation's public page
        curriculum=_curriculum(organisation, spec.curriculum_kind) if spec.curriculum_kind else None,
        **spec.extra,
    )
    # A finished course runs first (members join, sessions happen); ``finish`` completes it.
    last = GroupStatus.RUNNING if spec.status == GroupStatus.COMPLETED else spec.status
    for status in STATUS_PATH[: STATUS_PATH.index(last) + 1]:
        group = group_services.group_set_status(group=group, status=status, by=lead)
    return group


@transaction.atomic
def finish(organisations: Sequence[Organisation]) -> None:
    """Mark the finished demo course's members completed, then the group (after its sessions are seeded)."""
    for group in SupportGroup.objects.filter(organisation__in=organisations, status=GroupStatus.RUNNING):
        if not is_past_course(group):
            continue
        facilitator = group.facilitators.first()
        for membership in group.memberships.filter(status=MembershipStatus.ACTIVE):
            membership_services.membership_complete(membership=membership, by=facilitator)
        group_services.group_set_status(group=group, status=GroupStatus.COMPLETED, by=facilitator)


def _memberships(group: SupportGroup, spec: DemoGroup, people: dict[str, User], by: User) -> None:
    taken = set(Membership.objects.filter(group=group).values_list("user__email", flat=True))

    def member(n: int) -> User | None:
        user = people[f"member{n:02d}"]
        return None if user.email in taken else user

    for n in (*spec.active, *(w[0] for w in spec.withdrawn), *spec.waiting):
        user = member(n)
        if user is not None:
            membership_services.enrol_member(group, user, by=by, via="demo")
    for n, reason, note in spec.withdrawn:
        if people[f"member{n:02d}"].email not in taken:
            membership = Membership.objects.get(group=group, user=people[f"member{n:02d}"])
            membership_services.membership_withdraw(membership=membership, by=membership.user, reason=reason, note=note)
    for n in spec.requested:
        user = member(n)
        if user is not None:
            # Straight to "asked to join", without e-mailing the demo facilitators at every seeding.
            with transaction.atomic():
                locked = membership_services.lock_group(group)
                membership_services._transition(
                    Membership(group=locked, user=user), MembershipStatus.REQUESTED, by=user, via="request"
                )


def _people(organisation: Organisation) -> dict[str, User]:
    """The organisation's demo people by the part of their e-mail address before the @ (lead, member01, …).

    Someone who joined later with the same name before the @ does not displace a demo account: the demo's
    accounts were created first, and the lowest id wins.
    """
    people = User.objects.filter(roles__organisation=organisation).distinct().order_by("-pk")
    return {user.email.split("@")[0]: user for user in people}


@transaction.atomic
def seed(organisations: Sequence[Organisation]) -> dict[str, int]:
    """Create (or find) the demo curricula, groups and memberships. Returns counts for the printout."""
    for organisation in organisations:
        people = _people(organisation)
        lead = people["lead"]
        curriculum_services.starter_curricula_load(organisation=organisation, by=lead)
        for group_spec in GROUPS:
            group = _group(organisation, group_spec, people, lead)
            by = people[f"facilitator{group_spec.facilitators[0]}"] if group_spec.facilitators else lead
            _memberships(group, group_spec, people, by)
    return {
        "curricula": Curriculum.objects.count(),
        "support groups": SupportGroup.objects.count(),
        "memberships": Membership.objects.count(),
    }
