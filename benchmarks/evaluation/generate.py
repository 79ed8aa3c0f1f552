"""1. Generate: a synthetic organisation written with PostgreSQL COPY into the real tables.

Pure numpy first (``draw_*``: who is in which group, when, who answered), then one COPY per table in
foreign-key order (``copy_*``). Ids are given explicitly (1..n per table) so rows can refer to each
other without a round trip; the sequences are reset afterwards.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from .config import INSTRUMENTS, PLAN, TIME_POINTS
from .copying import copy_rows, reset_sequences, stamps
from .scoring import answers_json, check_scores, score_rows


@dataclass
class Clock:
    now: np.datetime64  # UTC, seconds

    @staticmethod
    def days(x) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) * 86_400).astype("timedelta64[s]")

    def weeks_since(self, start: np.ndarray, until: np.ndarray | None = None) -> np.ndarray:
        end = self.now if until is None else until
        return ((end - start).astype(np.int64) // (7 * 86_400)).astype(np.int64)


@dataclass
class Organisation:
    pk: int
    consent_version: int
    curricula: list  # Curriculum rows (5 versions of 4 families)
    units: dict[int, list[int]]  # curriculum pk → unit pks by position
    staff_base: int = 0  # facilitators are users staff_base+1 … staff_base+facilitators; the lead follows
    facilitators: int = 0

    @property
    def lead(self) -> int:
        return self.staff_base + self.facilitators + 1


@dataclass
class Groups:
    structured: np.ndarray
    curriculum: np.ndarray  # index into Organisation.curricula, -1 for none
    facilitation: np.ndarray
    delivery: np.ndarray
    audience: np.ndarray
    status: np.ndarray  # completed / running / recruiting
    n_sessions: np.ndarray
    first: np.ndarray  # first session (datetime64[s])
    last: np.ndarray
    size: np.ndarray
    created: np.ndarray

    def __len__(self) -> int:
        return self.structured.size


@dataclass
class Members:
    """One membership per member: membership i is user ``user[i]``'s place in group index ``group[i]``."""

    group: np.ndarray
    user: np.ndarray
    status: np.ndarray
    joined: np.ndarray  # NaT for the waiting list
    waitlisted: np.ndarray
    left: np.ndarray  # withdrawals only
    sessions_before_leaving: np.ndarray
    reason: np.ndarray

    def __len__(self) -> int:
        return self.group.size

    @property
    def enrolled(self) -> np.ndarray:
        return self.status != "waitlisted"

    @property
    def withdrawn(self) -> np.ndarray:
        return self.status == "withdrawn"


@dataclass
class Assessments:
    """Membership × time point, for enrolled members."""

    membership: np.ndarray
    time_point: np.ndarray  # index into TIME_POINTS
    opens: np.ndarray
    closes: np.ndarray
    status: np.ndarray
    answered: np.ndarray  # at least the first questionnaire submitted
    partial: np.ndarray  # answered, but the last questionnaire not submitted
    started: np.ndarray  # first questionnaire submitted at


@dataclass
class Generated:
    organisation_id: int
    counts: dict[str, int] = field(default_factory=dict)
    item_answers: int = 0
    scores_checked: int = 0
    lost: dict[str, float] = field(default_factory=dict)


def create_organisation() -> Organisation:
    """The organisation, its consent text and its curricula: a handful of rows through the ORM."""
    from django.db import transaction

    from groups.models import Curriculum, CurriculumUnit
    from peersupport.models import ConsentVersion
    from peersupport.models import Organisation as OrganisationModel

    with transaction.atomic():
        organisation = OrganisationModel.objects.create(
            name="Benchmark Peer Support",
            slug="bench",
            time_zone="Europe/London",
            crisis_support_text="In an emergency call 999.",
        )
        consent = ConsentVersion.objects.create(
            organisation=organisation,
            version=1,
            effective_date=date.today() - timedelta(days=1000),
            text="Benchmark consent text.",
        )
        families = [uuid.uuid4() for _ in range(4)]
        specs = [  # (family, version, kind, title): one curriculum in two versions, three others
            (0, 1, "self_management", "Recovery self-management"),
            (0, 2, "self_management", "Recovery self-management"),
            (1, 1, "self_management", "Living well with long-term conditions"),
            (2, 1, "anti_stigma", "Challenging stigma together"),
            (3, 1, "other", "Creative coping"),
        ]
        curricula = [
            Curriculum.objects.create(organisation=organisation, family=families[f], version=v, kind=kind, title=title)
            for f, v, kind, title in specs
        ]
        units = {
            c.pk: [
                u.pk
                for u in CurriculumUnit.objects.bulk_create(
                    CurriculumUnit(curriculum=c, position=p, title=f"Session {p}") for p in range(1, 11)
                )
            ]
            for c in curricula
        }
    return Organisation(organisation.pk, consent.pk, curricula, units)


def draw_groups(rng, clock: Clock, n_groups: int, n_members: int) -> Groups:
    G = n_groups
    structured = rng.random(G) < 0.55
    curriculum = np.where(structured, rng.choice(5, size=G, p=[0.25, 0.2, 0.25, 0.2, 0.1]), -1)
    facilitation = np.where(structured | (rng.random(G) < 0.5), "peer_led", "peer_to_peer")
    delivery = rng.choice(["in_person", "online", "telephone", "blended"], size=G, p=[0.45, 0.35, 0.05, 0.15])
    audience = rng.choice(["adult", "youth", "all"], size=G, p=[0.7, 0.15, 0.15])
    status = rng.choice(["completed", "running", "recruiting"], size=G, p=[0.72, 0.22, 0.06])
    n_sessions = np.where(structured, 10, 12)  # weekly
    span = (n_sessions - 1) * 7
    # Completed groups finished long enough ago for the 3-month follow-up; running ones started 1–10 weeks ago.
    start_day = np.select(
        [status == "completed", status == "running"],
        [rng.uniform(-720, -(span + 110)), -rng.uniform(7, np.maximum(span - 7, 8))],
        rng.uniform(5, 30, G),
    )
    midnight = clock.now.astype("datetime64[D]").astype("datetime64[s]")
    first = midnight + clock.days(np.floor(start_day)) + np.timedelta64(18, "h")
    weights = rng.lognormal(0, 0.4, G)
    size = rng.multinomial(n_members, weights / weights.sum())
    created = first - clock.days(rng.uniform(30, 90, G))
    return Groups(
        structured, curriculum, facilitation, delivery, audience, status, n_sessions, first,
        first + clock.days(span), size, created,
    )  # fmt: skip


def draw_members(rng, clock: Clock, groups: Groups) -> Members:
    N = int(groups.size.sum())
    group = np.repeat(np.arange(len(groups)), groups.size)
    user = rng.permutation(N) + 1  # user ids not in group order
    g_status = groups.status[group]
    u = rng.random(N)
    status = np.select(
        [
            u < np.where(g_status == "recruiting", 0.05, 0.03),
            (g_status == "completed") & (u < 0.25),
            (g_status == "running") & (u < 0.13),
            g_status == "completed",
        ],
        ["waitlisted", "withdrawn", "withdrawn", "completed"],
        "active",
    )
    enrolled = status != "waitlisted"
    first, last = groups.first[group], groups.last[group]
    not_future = clock.now - clock.days(rng.uniform(0.05, 10, N))  # recruiting groups start later
    never = np.datetime64("NaT")
    joined = np.where(enrolled, np.minimum(first - clock.days(rng.uniform(1, 21, N)), not_future), never)
    waitlisted = np.where(enrolled, never, np.minimum(first - clock.days(rng.uniform(0, 10, N)), not_future))
    # A withdrawal comes after some of the sessions held so far, and before today.
    held = np.clip(clock.weeks_since(first, np.minimum(clock.now, last)) + 1, 1, None)
    before_leaving = np.floor(rng.random(N) * held).astype(np.int64)
    withdrawn = status == "withdrawn"
    left = np.where(withdrawn, np.minimum(first + clock.days(before_leaving * 7 + 1), clock.now - clock.days(1)),
                    np.datetime64("NaT"))  # fmt: skip
    reason = rng.choice(
        ["", "not_helpful", "time_or_place", "health", "feeling_better", "other_support", "practical", "other",
         "not_said"], size=N, p=[0.2, 0.08, 0.2, 0.15, 0.1, 0.07, 0.12, 0.04, 0.04])  # fmt: skip
    return Members(group, user, status, joined, waitlisted, left, before_leaving, np.where(withdrawn, reason, ""))


def draw_assessments(rng, clock: Clock, groups: Groups, members: Members) -> Assessments:
    enrolled = np.flatnonzero(members.enrolled)
    m = np.repeat(enrolled, 3)
    t = np.tile(np.arange(3), enrolled.size)
    g = members.group[m]
    anchor = np.where(t == 0, groups.first[g], groups.last[g])
    opens = anchor + clock.days(np.array([p[2] for p in PLAN])[t])
    closes = anchor + clock.days(np.array([p[3] for p in PLAN])[t])
    completer = members.status[m] == "completed"
    withdrawn = members.withdrawn[m]
    # Who answers: ~85% at baseline; later only members still in the group are asked (nobody who left is
    # written to), and most completers answer. Inside an open window, fewer have answered yet.
    p = np.select([t == 0, t == 1], [0.85, np.where(completer, 0.86, 0.0)], np.where(completer, 0.8, 0.0))
    now = clock.now
    until = np.minimum(closes, np.where(withdrawn, members.left[m], now))
    open_now = (opens <= now) & (now < closes)
    p = np.where(open_now, p * np.clip((now - opens) / (closes - opens), 0, 1), p)
    answered = (opens <= now) & (until > opens) & (rng.random(m.size) < p)
    window = np.maximum((until - opens).astype(np.int64), 0)
    started = opens + (window * rng.uniform(0.02, 0.98, m.size)).astype("timedelta64[s]")
    partial = answered & (rng.random(m.size) < 0.02)  # the last questionnaire never submitted
    status = np.select([opens > now, answered & ~partial, now < closes], ["upcoming", "completed", "open"], "expired")
    return Assessments(m, t, opens, closes, status, answered, partial, started)


def copy_people(rng, clock: Clock, org: Organisation, groups: Groups, members: Members) -> dict[str, int]:
    from peersupport.models import ConsentDecision, Role, User

    N = len(members)
    year = int(str(clock.now.astype("datetime64[Y]")))
    youth = groups.audience[members.group] == "youth"
    birth = np.zeros(N, dtype=np.int64)  # by user id - 1
    birth[members.user - 1] = np.where(youth, year - rng.integers(14, 25, N), year - rng.integers(18, 80, N))
    birth[(rng.random(N) < 0.2) & ~np.isin(np.arange(1, N + 1), members.user[youth])] = 0  # optional field
    signed_up = np.empty(N, dtype="datetime64[s]")
    signed_up[members.user - 1] = np.where(members.enrolled, members.joined, members.waitlisted) - clock.days(
        rng.uniform(1, 60, N)
    )
    staff_since = clock.now - clock.days(900)
    everyone_since = np.concatenate([signed_up, np.full(org.facilitators + 1, staff_since)])
    since = stamps(everyone_since)
    staff = [(org.staff_base + k + 1, f"facilitator{k + 1}", f"Facilitator {k + 1}", "facilitator")
             for k in range(org.facilitators)] + [(org.lead, "lead", "Service lead", "lead")]  # fmt: skip
    counts = {}

    def users():
        for i, b in enumerate(birth.tolist()):
            yield (i + 1, "!bench", None, False, f"member{i + 1}@bench.example", f"Member {i + 1}", b or None,
                   "en", "Europe/London", False, True, since[i], False, "")  # fmt: skip
        for k, (pk, login, name, _kind) in enumerate(staff):
            yield (pk, "!bench", None, False, f"{login}@bench.example", name, None, "en", "Europe/London", False, True,
                   since[N + k], False, "")  # fmt: skip

    counts["users"] = copy_rows(
        User,
        ["id", "password", "last_login", "is_superuser", "email", "display_name", "year_of_birth",
         "preferred_language", "time_zone", "is_staff", "is_active", "date_joined", "name_on_public_pages",
         "safeguarding_contact"],
        users(),
    )  # fmt: skip

    def roles():
        for i in range(N):
            yield (i + 1, org.pk, "member", since[i])
        for k, (pk, _login, _name, kind) in enumerate(staff):
            yield (pk, org.pk, kind, since[N + k])

    counts["roles"] = copy_rows(Role, ["user_id", "organisation_id", "kind", "granted_at"], roles())
    # 1.5% of members withdrew consent some time after signing up: their answers stay, no new ones are asked.
    withdrew = np.zeros(everyone_since.size, dtype=bool)
    withdrew[:N] = rng.random(N) < 0.015
    withdrew_at = stamps(
        everyone_since
        + ((clock.now - everyone_since).astype(np.int64) * rng.uniform(0.1, 0.99, everyone_since.size)).astype(
            "timedelta64[s]"
        )
    )

    def decisions():
        for i, w in enumerate(withdrew.tolist()):
            yield (i + 1, org.consent_version, "given", since[i], "online")
            if w:
                yield (i + 1, org.consent_version, "withdrawn", withdrew_at[i], "online")

    counts["consent decisions"] = copy_rows(
        ConsentDecision, ["user_id", "consent_version_id", "action", "at", "source"], decisions()
    )
    return counts


def copy_groups(rng, clock: Clock, org: Organisation, groups: Groups, members: Members) -> dict[str, int]:
    from groups.models import GroupFacilitator, Membership, MembershipEvent, SupportGroup

    counts = {}
    created = stamps(groups.created)
    curricula = org.curricula

    def group_rows():
        for i, (ci, st, fa, de, au, sz, status) in enumerate(zip(
            groups.curriculum.tolist(), groups.structured.tolist(), groups.facilitation.tolist(),
            groups.delivery.tolist(), groups.audience.tolist(), groups.size.tolist(), groups.status.tolist(),
            strict=True,
        )):  # fmt: skip
            title = curricula[ci].title if ci >= 0 else "Mutual support"
            yield (i + 1, org.pk, f"{title} group {i + 1}", "", curricula[ci].pk if ci >= 0 else None,
                   "structured" if st else "unstructured", fa, de, au, max(12, sz + 2), "Europe/London",
                   "Community centre" if de in ("in_person", "blended") else "",
                   "https://meet.example.org/bench" if de in ("online", "blended") else "",
                   "0800 000 000" if de == "telephone" else "", status, i % 3 == 0, False, f"BX{i + 1:09d}",
                   org.lead, created[i])  # fmt: skip

    counts["groups"] = copy_rows(
        SupportGroup,
        ["id", "organisation_id", "name", "description", "curriculum_id", "format", "facilitation", "delivery",
         "audience", "capacity", "time_zone", "location", "online_url", "phone_details", "status",
         "open_to_requests", "listed_publicly", "enrolment_code", "created_by_id", "created_at"],
        group_rows(),
    )  # fmt: skip

    def facilitator_rows():  # peer-led: one or two of the organisation's facilitators
        for i, fa in enumerate(groups.facilitation.tolist()):
            if fa == "peer_led":
                for k in rng.choice(org.facilitators, size=1 + int(rng.random() < 0.5), replace=False).tolist():
                    yield (i + 1, org.staff_base + k + 1, created[i])

    counts["group facilitators"] = copy_rows(GroupFacilitator, ["group_id", "user_id", "added_at"], facilitator_rows())
    joined, left, waitlisted = stamps(members.joined), stamps(members.left), stamps(members.waitlisted)
    counts["memberships"] = copy_rows(
        Membership,
        ["id", "group_id", "user_id", "status", "joined_at", "left_at", "waitlisted_at", "withdrawal_reason",
         "withdrawal_note", "created_at"],
        (
            (i + 1, g + 1, u, st, joined[i], left[i], waitlisted[i], reason, "", joined[i] or waitlisted[i])
            for i, (g, u, st, reason) in enumerate(zip(
                members.group.tolist(), members.user.tolist(), members.status.tolist(), members.reason.tolist(),
                strict=True))
        ),
    )  # fmt: skip
    last = stamps(groups.last)
    via = rng.choice(["code", "invitation", "request_approved"], size=len(members), p=[0.6, 0.25, 0.15]).tolist()

    def events():  # the history the flow figures are computed from
        for i, (g, u, st, reason) in enumerate(zip(
            members.group.tolist(), members.user.tolist(), members.status.tolist(), members.reason.tolist(),
            strict=True,
        )):  # fmt: skip
            if st == "waitlisted":
                yield (i + 1, "", "waitlisted", waitlisted[i], u, "code", "", "")
                continue
            yield (i + 1, "", "active", joined[i], u if via[i] == "code" else org.lead, via[i], "", "")
            if st == "completed":
                yield (i + 1, "active", "completed", last[g], org.lead, "facilitator", "", "")
            elif st == "withdrawn":
                yield (i + 1, "active", "withdrawn", left[i], u, "self", reason, "")

    counts["membership events"] = copy_rows(
        MembershipEvent, ["membership_id", "from_status", "to_status", "at", "by_id", "via", "reason", "note"], events()
    )
    return counts


def copy_sessions(rng, clock: Clock, org: Organisation, groups: Groups, members: Members) -> dict[str, int]:
    from sessions.models import Attendance, GroupSession

    counts = {}
    first_id = np.concatenate([[1], np.cumsum(groups.n_sessions)[:-1] + 1])  # session ids are per group, in order
    s_group = np.repeat(np.arange(len(groups)), groups.n_sessions)
    s_seq = np.arange(s_group.size) - np.repeat(first_id - 1, groups.n_sessions)  # 0-based
    s_start = groups.first[s_group] + clock.days(s_seq * 7)
    cancelled = rng.random(s_group.size) < 0.03
    start, end, created = stamps(s_start), stamps(s_start + np.timedelta64(90, "m")), stamps(groups.created)
    units = [org.units[c.pk] for c in org.curricula]

    def session_rows():
        for k, (g, q, ci) in enumerate(zip(s_group.tolist(), s_seq.tolist(), groups.curriculum[s_group].tolist(),
                                           strict=True)):  # fmt: skip
            unit = units[ci][q] if ci >= 0 and q < len(units[ci]) else None
            yield (k + 1, g + 1, q + 1, unit, start[k], end[k], "cancelled" if cancelled[k] else "scheduled", "", "",
                   "", created[g], created[g], uuid.uuid4())  # fmt: skip

    counts["sessions"] = copy_rows(
        GroupSession,
        ["id", "group_id", "sequence", "unit_id", "starts_at", "ends_at", "status", "cancellation_note", "location",
         "online_url", "created_at", "updated_at", "uid"],
        session_rows(),
    )  # fmt: skip
    # Every enrolled member has a register entry for each session held (before they left), present with their
    # own propensity.
    g = members.group
    held = np.clip(clock.weeks_since(groups.first[g]) + 1, 0, groups.n_sessions[g])
    upto = np.where(members.withdrawn, np.minimum(members.sessions_before_leaving + 1, held), held)
    upto = np.where(members.enrolled, upto, 0)
    a_member = np.repeat(np.arange(len(members)), upto)
    a_session = first_id[g[a_member]] + np.arange(a_member.size) - np.repeat(np.cumsum(upto) - upto, upto)
    held_for_real = ~cancelled[a_session - 1]
    a_member, a_session = a_member[held_for_real], a_session[held_for_real]
    propensity = rng.beta(5, 1.6, len(members))[a_member]
    r = rng.random(a_member.size)
    status = np.where(r < propensity, "present", np.where(r < propensity + 0.1, "apologies", "absent"))
    recorded = stamps(s_start[a_session - 1] + np.timedelta64(2, "h"))
    counts["attendance"] = copy_rows(
        Attendance,
        ["session_id", "membership_id", "status", "recorded_by_id", "recorded_at"],
        (
            (s, m + 1, st, org.lead, recorded[k])
            for k, (s, m, st) in enumerate(zip(a_session.tolist(), a_member.tolist(), status.tolist(), strict=True))
        ),
    )
    return counts


def copy_plans_and_assessments(
    clock: Clock, org: Organisation, groups: Groups, members: Members, assessments: Assessments
) -> dict[str, int]:
    from outcomes.models import Assessment, MeasurementPlan, PlanInstrument, PlanTimePoint

    counts = {}
    # One plan per curriculum version (its groups share it) and one per unstructured group.
    unstructured = np.flatnonzero(~groups.structured)
    plans = [(f"{c.title} v{c.version}: core outcomes", c.pk, None) for c in org.curricula]
    plans += [(f"Group {g + 1}: core outcomes", None, g + 1) for g in unstructured.tolist()]
    plan_of_group = groups.curriculum.copy()
    plan_of_group[unstructured] = len(org.curricula) + np.arange(unstructured.size)
    written = stamps(np.array([clock.now - clock.days(800)]))[0]
    counts["measurement plans"] = copy_rows(
        MeasurementPlan,
        ["id", "organisation_id", "name", "curriculum_id", "group_id", "created_by_id", "created_at"],
        ((p + 1, org.pk, name, c, g, org.lead, written) for p, (name, c, g) in enumerate(plans)),
    )
    counts["plan time points"] = copy_rows(
        PlanTimePoint,
        ["id", "plan_id", "time_point", "anchor", "opens_days", "closes_days"],
        ((p * 3 + t + 1, p + 1, *PLAN[t]) for p in range(len(plans)) for t in range(3)),
    )
    counts["plan instruments"] = copy_rows(
        PlanInstrument,
        ["time_point_id", "instrument_code", "instrument_version", "position"],
        ((p * 3 + t + 1, code, 1, pos) for p in range(len(plans)) for t in range(3)
         for pos, code in enumerate(INSTRUMENTS)),
    )  # fmt: skip

    a = assessments
    m = a.membership
    asked = ~members.withdrawn[m] | (a.opens < members.left[m])  # nobody who left is invited
    invited = np.where((a.status != "upcoming") & asked, a.opens, np.datetime64("NaT"))
    still_open_after = np.where(a.answered, a.started, np.minimum(a.closes, clock.now))
    reminded = np.where(~np.isnat(invited) & (still_open_after > a.opens + clock.days(3)), a.opens + clock.days(3),
                        np.datetime64("NaT"))  # fmt: skip
    # The three questionnaires are submitted three minutes apart; the assessment completes with the last.
    completed = np.where(a.status == "completed", a.started + np.timedelta64(6, "m"), np.datetime64("NaT"))
    frozen = json.dumps([[code, 1] for code in INSTRUMENTS])
    opens, closes, invited, reminded = stamps(a.opens), stamps(a.closes), stamps(invited), stamps(reminded)
    completed, created = stamps(completed), stamps(members.joined[m])
    plan_tp = plan_of_group[members.group[m]] * 3 + a.time_point + 1
    counts["assessments"] = copy_rows(
        Assessment,
        ["id", "membership_id", "time_point", "plan_time_point_id", "opens_at", "closes_at", "status",
         "instruments", "invited_at", "reminded_at", "completed_at", "created_at"],
        (
            (k + 1, mi + 1, TIME_POINTS[t], tp, opens[k], closes[k], st, "[]" if st == "upcoming" else frozen,
             invited[k], reminded[k], completed[k], created[k])
            for k, (mi, t, tp, st) in enumerate(zip(
                m.tolist(), a.time_point.tolist(), plan_tp.tolist(), a.status.tolist(), strict=True))
        ),
    )  # fmt: skip
    return counts


def _draw_answers(rng, defn, level: np.ndarray, *, gap_share: float) -> np.ndarray:
    """Plausible answers (-1 = unanswered): each item near the member's level at that time point."""
    n = level.size
    matrix = np.empty((n, len(defn.items)), dtype=np.int64)
    risk_items = {rule.item for rule in defn.risk_rules}
    for j, item in enumerate(defn.items):
        low, high = item.options.minimum, item.options.maximum
        scale = (high - low) / 3.0
        centre = level * scale + rng.normal(0, 0.75 * scale, n)
        if item.key in risk_items:
            centre = centre - 1.7 * scale  # most answer "not at all"
        if not item.scored:
            centre = level * 0.6
        value = np.clip(np.rint(centre), low, high).astype(np.int64)
        matrix[:, j] = low + high - value if item.reverse else value  # the option chosen; scoring reverses it
    # Most responses are complete; some have one to three gaps; PHQ-9's difficulty question is often skipped.
    scored = [j for j, item in enumerate(defn.items) if item.scored]
    how_many = rng.choice([1, 1, 1, 2, 3], size=n)
    for row in np.flatnonzero(rng.random(n) < gap_share).tolist():
        matrix[row, rng.choice(scored, size=how_many[row], replace=False)] = -1
    for j, item in enumerate(defn.items):
        if not item.scored:
            matrix[rng.random(n) < 0.15, j] = -1
    return matrix


def copy_responses(rng, groups: Groups, members: Members, assessments: Assessments) -> tuple[int, int, int]:
    """Responses to the three instruments of every answered assessment. Returns (responses, item answers, checked)."""
    from outcomes.instruments.loading import load_all
    from outcomes.models import Response

    a = assessments
    rows = np.flatnonzero(a.answered)
    # A latent level per member (on the 0–3 scale of PHQ items): lower after the group, a little less so later.
    severity = rng.normal(1.35, 0.55, len(members))
    benefit = rng.normal(0.35, 0.35, len(members)) + np.where(groups.structured[members.group], 0.05, 0.0)
    m = a.membership[rows]
    level = severity[m] - benefit[m] * np.array([0.0, 1.0, 0.8])[a.time_point[rows]]
    next_id, items, checked = 1, 0, 0
    for position, code in enumerate(INSTRUMENTS):
        defn = load_all()[(code, 1)]
        matrix = _draw_answers(rng, defn, level, gap_share=0.05)
        unsubmitted = a.partial[rows] & (position == len(INSTRUMENTS) - 1)
        draft = unsubmitted & (rng.random(rows.size) < 0.5)  # half of them left a draft
        written = ~unsubmitted | draft
        totals, scores = score_rows(defn, matrix)
        sample = rng.choice(rows.size, min(1000, rows.size), replace=False)
        checked += check_scores(defn, matrix, scores, sample)
        answers = answers_json(defn, matrix)
        when = stamps(a.started[rows] + np.timedelta64(position * 3, "m"))
        items += int((matrix[written & ~draft] >= 0).sum())

        def response_rows(start=next_id, code=code, written=written, draft=draft, totals=totals, scores=scores,
                          answers=answers, when=when):  # fmt: skip
            pk = start
            for k, assessment in enumerate(rows.tolist()):
                if not written[k]:
                    continue
                if draft[k]:
                    yield (pk, assessment + 1, code, 1, answers[k], "{}", None, None, "online", None, when[k], when[k])
                else:
                    yield (pk, assessment + 1, code, 1, answers[k], scores[k], totals[k], 1, "online", when[k],
                           when[k], when[k])  # fmt: skip
                pk += 1

        next_id += copy_rows(
            Response,
            ["id", "assessment_id", "instrument_code", "instrument_version", "answers", "scores", "total",
             "scoring_version", "source", "submitted_at", "created_at", "updated_at"],
            response_rows(),
        )  # fmt: skip
    return next_id - 1, items, checked


def lost_to_follow_up(groups: Groups, members: Members, assessments: Assessments) -> dict[str, float]:
    """Of the members of completed groups who answered at baseline, the share without post / follow-up answers."""
    a = assessments
    done = groups.status[members.group[a.membership]] == "completed"
    baseline = set(a.membership[a.answered & done & (a.time_point == 0)].tolist())
    lost = {}
    for t in (1, 2):
        later = set(a.membership[a.answered & (a.time_point == t)].tolist())
        lost[TIME_POINTS[t]] = 1 - len(baseline & later) / max(1, len(baseline))
    return lost


def generate(n_members: int, n_groups: int, seed: int) -> Generated:
    from groups.models import GroupFacilitator, Membership, MembershipEvent, SupportGroup
    from outcomes.models import Assessment, MeasurementPlan, PlanInstrument, PlanTimePoint, Response
    from peersupport.models import ConsentDecision, Role, User
    from sessions.models import Attendance, GroupSession

    rng = np.random.default_rng(seed)
    clock = Clock(np.datetime64(datetime.now(UTC).replace(tzinfo=None, microsecond=0), "s"))
    org = create_organisation()
    org.staff_base, org.facilitators = n_members, max(5, n_groups // 4)
    groups = draw_groups(rng, clock, n_groups, n_members)
    members = draw_members(rng, clock, groups)
    assessments = draw_assessments(rng, clock, groups, members)

    counts = copy_people(rng, clock, org, groups, members)
    counts |= copy_groups(rng, clock, org, groups, members)
    counts |= copy_sessions(rng, clock, org, groups, members)
    counts |= copy_plans_and_assessments(clock, org, groups, members, assessments)
    counts["responses"], items, checked = copy_responses(rng, groups, members, assessments)
    reset_sequences(
        [User, Role, ConsentDecision, SupportGroup, GroupFacilitator, Membership, MembershipEvent, GroupSession,
         Attendance, MeasurementPlan, PlanTimePoint, PlanInstrument, Assessment, Response]
    )  # fmt: skip
    return Generated(org.pk, counts, items, checked, lost_to_follow_up(groups, members, assessments))


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
