"""Scale benchmark of the evaluation engine: full recompute, submit-to-fresh latency and the item-level export.

Run (from the repository root, against a scratch PostgreSQL database that is DROPPED and re-created):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python benchmarks/evaluation.py [--members 100000] [--groups 5000]

Phases (each a function below):

1. ``generate``      a synthetic organisation written with PostgreSQL COPY into the real tables.
2. ``bench_recompute``  (a) ``recompute_all`` against a bare ``GROUP BY GROUPING SETS`` over the same cells.
3. ``bench_latency``    (b) submit → every cohort of the member's group fresh, with a real Celery worker.
4. ``bench_export``     (c) the long-format item CSV (rows/s, memory) against ``COPY … TO STDOUT``;
                        run in a child process so its memory figures start from a clean baseline.

Prints figures and targets; asserts nothing about timings. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import operator
import os
import platform
import resource
import statistics as pystats
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql", "postgis"}

INSTRUMENTS = ("phq9", "gad7", "core10")  # built-in wording: no InstrumentText needed
TIME_POINTS = ("baseline", "post", "follow_up_3")
# (time point, anchor, opens, closes in days) as in outcomes/demo.py
PLAN = (
    ("baseline", "first_session", -14, 7),
    ("post", "last_session", -3, 21),
    ("follow_up_3", "last_session", 76, 104),
)
TARGET_RECOMPUTE_RATIO = 3.0
TARGET_RECOMPUTE_SECONDS = 60.0
TARGET_LATENCY_MEDIAN = 1.0
TARGET_EXPORT_ROWS_PER_S = 100_000
TARGET_EXPORT_MB = 50.0
TRACED_ROWS = 500_000  # rows of the export traced by tracemalloc (the untraced pass exports them all)


# --- Output ---------------------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """Progress, to stderr (not part of the figures)."""
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


# --- Environment --------------------------------------------------------------------------------


def database_url_or_exit() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        sys.exit(
            "benchmarks/evaluation.py needs PostgreSQL: set DATABASE_URL to a scratch database, e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench REDIS_URL=redis://127.0.0.1:6379/9 "
            ".venv/bin/python benchmarks/evaluation.py\n"
            f"(got {'nothing' if not url else parts.scheme + '://…'}; SQLite and other databases are not measured)."
        )
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        sys.exit(
            f"The database is dropped and re-created at every run: its name must start with 'bench' (not {name!r})."
        )
    return url


def redis_url_or_exit() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        sys.exit(
            "benchmarks/evaluation.py needs REDIS_URL (a scratch Redis database, e.g. redis://127.0.0.1:6379/9): "
            "the latency phase runs a real Celery worker."
        )
    return url


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "peersupport.settings"
    # As in production: no per-query log in the process (DEBUG keeps one). A benchmark-only key.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-" + uuid.uuid4().hex)
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    import django

    django.setup()


def machine() -> dict[str, str]:
    from django.db import connection

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()[0]
    import django

    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "postgresql": f"{pg} (shared_buffers {shared_buffers}, work_mem {work_mem})",
        "python": f"{platform.python_version()}, Django {django.get_version()}, numpy {np.__version__}",
    }


# --- COPY helpers ----------------------------------------------------------------------------------


def copy_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into a model's table (psycopg 3); returns how many.

    A NOT NULL column the generator does not name but the model gives a default (a field added since,
    e.g. a session's ``uid``) gets the model's default, computed per row (a ``uuid4`` is unique), so a new
    field with a default does not stop the benchmark."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    given = set(columns)
    defaulted = [
        f
        for f in model._meta.concrete_fields
        if f.column not in given
        and not f.primary_key
        and not f.null
        and f.has_default()
        and f.db_default is NOT_PROVIDED
    ]
    connection.ensure_connection()
    names = ", ".join(f'"{c}"' for c in [*columns, *(f.column for f in defaulted)])
    n = 0
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            if defaulted:
                row = (*row, *(f.get_db_prep_save(f.get_default(), connection) for f in defaulted))
            copy.write_row(row)
            n += 1
    return n


def reset_sequences(models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def stamps(values: np.ndarray) -> list[str | None]:
    """datetime64[s] (UTC) → ISO text PostgreSQL reads as timestamptz; NaT → NULL."""
    text = np.datetime_as_string(values, unit="s").tolist()
    return [None if t == "NaT" else t + "+00:00" for t in text]


# --- Scoring (vectorised) ----------------------------------------------------------------------------


def score_rows(defn, matrix: np.ndarray) -> tuple[list[float | None], list[str]]:
    """Totals and ``scores`` JSON for a matrix of answers (rows × defn.items, -1 = unanswered).

    Sums and counts are numpy; the rules (prorating, ``max_missing``, mean × multiplier) follow
    ``outcomes.instruments.scoring.aggregate`` exactly, with the same int/float types, so the JSON matches
    ``ScoreResult.as_dict`` (what a submit stores); ``check_scores`` compares them on a sample.
    """
    from outcomes.instruments.scoring import SCORING_VERSION, band

    if defn.lookup is not None or defn.subscales:
        raise NotImplementedError(f"{defn.code}: lookup tables and subscales are not vectorised here")
    keys = [item.key for item in defn.items]
    scored = [i for i, item in enumerate(defn.items) if item.scored]
    values = matrix[:, scored].astype(np.int64)
    for j, i in enumerate(scored):
        item = defn.items[i]
        if item.reverse:
            answered = values[:, j] >= 0
            values[answered, j] = item.options.minimum + item.options.maximum - values[answered, j]
    present = values >= 0
    sums = np.where(present, values, 0).sum(axis=1).tolist()
    counts = present.sum(axis=1).tolist()
    n_items = len(scored)
    rule, missing = defn.score, defn.missing
    band_cache: dict = {}
    risk = [(rule_.id, keys.index(rule_.item), rule_) for rule_ in defn.risk_rules]
    flags_all = [
        [rid for rid, col, r in risk if matrix[row, col] >= 0 and r.triggered_by(int(matrix[row, col]))]
        for row in range(matrix.shape[0])
    ]
    totals: list[float | None] = []
    documents: list[str] = []
    for s, n_answered, flags in zip(sums, counts, flags_all, strict=True):
        n_missing = n_items - n_answered
        if n_answered == 0 or n_missing > missing.max_missing:
            raw, prorated = None, False
        else:
            prorated = n_missing > 0
            if rule.method == "mean":
                raw = s * rule.multiplier / n_answered
            else:
                raw = s * n_items / n_answered if prorated else s
                raw = raw * rule.multiplier if rule.multiplier != 1 else raw
        bands = band_cache.get(raw)
        if bands is None:
            bands = band_cache[raw] = {scheme.name: band(raw, scheme) for scheme in defn.bands}
        totals.append(None if raw is None else float(raw))
        documents.append(
            json.dumps(
                {
                    "total": raw,
                    "raw_total": raw,
                    "transformed_total": None,
                    "subscales": {},
                    "bands": bands,
                    "n_answered": n_answered,
                    "n_missing": n_missing,
                    "prorated": prorated,
                    "risk_flags": flags,
                }
            )
        )
    assert SCORING_VERSION == 1  # the version written to scoring_version below
    return totals, documents


def answers_json(defn, matrix: np.ndarray) -> list[str]:
    keys = [item.key for item in defn.items]
    return [json.dumps({k: v for k, v in zip(keys, row, strict=True) if v >= 0}) for row in matrix.tolist()]


def check_scores(defn, matrix: np.ndarray, documents: list[str], sample: np.ndarray) -> int:
    """The vectorised score documents equal ``ScoreResult.as_dict`` (what a submit stores) on a sample."""
    from outcomes.instruments.scoring import score

    keys = [item.key for item in defn.items]
    for row in sample.tolist():
        answers = {k: v for k, v in zip(keys, matrix[row].tolist(), strict=True) if v >= 0}
        if json.dumps(score(defn, answers).as_dict()) != documents[row]:
            raise SystemExit(
                f"vectorised score differs from outcomes.instruments.scoring.score for {defn.code}: {answers}"
            )
    return len(sample)


# --- 1. Generate -------------------------------------------------------------------------------------
#
# Pure numpy first (``draw_*``: who is in which group, when, who answered), then one COPY per table in
# foreign-key order (``copy_*``). Ids are given explicitly (1..n per table) so rows can refer to each
# other without a round trip; the sequences are reset afterwards.


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


# --- 2. (a) Full recompute vs a bare GROUP BY --------------------------------------------------------

BARE_SQL = """
WITH r AS (
    SELECT m.group_id, c.family::text AS family, c.kind, g.format, g.delivery, g.audience,
           r.instrument_code, a.time_point, r.total
    FROM outcomes_response r
    JOIN outcomes_assessment a ON a.id = r.assessment_id
    JOIN groups_membership m ON m.id = a.membership_id
    JOIN groups_supportgroup g ON g.id = m.group_id
    LEFT JOIN groups_curriculum c ON c.id = g.curriculum_id
    WHERE g.organisation_id = %s AND r.submitted_at IS NOT NULL AND r.total IS NOT NULL
)
SELECT CASE
         WHEN GROUPING(group_id) = 0 THEN 'group'
         WHEN GROUPING(family) = 0 THEN 'curriculum'
         WHEN GROUPING(kind) = 0 THEN 'curriculum_kind'
         WHEN GROUPING(format) = 0 THEN 'format'
         WHEN GROUPING(delivery) = 0 THEN 'delivery'
         WHEN GROUPING(audience) = 0 THEN 'audience'
         ELSE 'organisation'
       END AS dimension,
       COALESCE(group_id::text, family, kind, format, delivery, audience, '') AS value,
       instrument_code, time_point, count(*), avg(total), stddev_samp(total) {extra}
FROM r
GROUP BY GROUPING SETS (
    (instrument_code, time_point),
    (group_id, instrument_code, time_point),
    (family, instrument_code, time_point),
    (kind, instrument_code, time_point),
    (format, instrument_code, time_point),
    (delivery, instrument_code, time_point),
    (audience, instrument_code, time_point)
)
HAVING NOT (GROUPING(family) = 0 AND family IS NULL) AND NOT (GROUPING(kind) = 0 AND kind IS NULL)
"""
QUARTILES = ", percentile_cont(ARRAY[0.25, 0.5, 0.75]) WITHIN GROUP (ORDER BY total)"


def timed_sql(sql: str, params) -> tuple[float, list]:
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        return time.perf_counter() - started, rows


@dataclass
class RecomputeResult:
    seconds: float
    cohorts: int
    phases: dict[str, float]  # seconds by phase of recompute_all
    sql_seconds: float
    sql_quartiles_seconds: float
    cells: int
    rows: dict[str, int]
    agree: str

    @property
    def ratio(self) -> float:
        return self.seconds / self.sql_seconds


@contextmanager
def phase_timer(phases: dict[str, float]):
    """Time ``engine.load``, ``engine.compute`` and the saving of each group's data (``group_data.split`` and
    ``ReadResult.save``) inside ``recompute_all`` by wrapping them for the duration (instrumentation in this
    process only: no application file is changed)."""
    from outcomes.evaluation import engine, group_data

    targets = [
        (engine, "load", "load"),
        (engine, "compute", "compute"),
        (group_data, "split", "save"),
        (group_data.ReadResult, "save", "save"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]

    def timed(original, label):
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - began

        return call

    for (owner, name, label), (_, _, original) in zip(targets, originals, strict=True):
        setattr(owner, name, timed(original, label))
    try:
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def recompute_measured(organisation_id: int, *, profile: bool) -> tuple[float, int, dict[str, float]]:
    """``recompute_all`` as it is: (seconds, cohorts, seconds by phase)."""
    from outcomes.evaluation.recompute import recompute_all

    phases: dict[str, float] = {}
    started = time.perf_counter()
    with phase_timer(phases):
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            cohorts = recompute_all(organisation_id=organisation_id)
            profiler.disable()
            elapsed = time.perf_counter() - started
            say(f"\ncProfile of recompute_all ({seconds(elapsed)} under the profiler, {cohorts} cohorts)")
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(45)
        else:
            cohorts = recompute_all(organisation_id=organisation_id)
            elapsed = time.perf_counter() - started
    load, compute, save = (phases.get(name, 0.0) for name in ("load", "compute", "save"))
    return (
        elapsed,
        cohorts,
        {
            "read (engine.load)": load,
            "figures (engine.compute)": compute,
            "saving each group's data (group_data)": save,
            "the rest (marking, writing, commit)": elapsed - load - compute - save,
        },
    )


def bench_recompute(organisation_id: int, *, profile: bool = False):
    from outcomes.models import (
        ChangeSummary,
        CohortState,
        ComparisonSummary,
        FlowSummary,
        GroupComparisonSet,
        OutcomeSummary,
    )

    note("recompute_all …")
    elapsed, cohorts, phases = recompute_measured(organisation_id, profile=profile)

    bare = BARE_SQL.format(extra="")
    timed_sql(bare, [organisation_id])  # warm
    runs = [timed_sql(bare, [organisation_id]) for _ in range(3)]
    sql_seconds = sorted(t for t, _ in runs)[1]
    cells = {(dim, value, code, tp): (n, mean) for dim, value, code, tp, n, mean, _sd in runs[0][1]}
    quartiles_seconds, _ = timed_sql(BARE_SQL.format(extra=QUARTILES), [organisation_id])

    # The same cells, computed both ways, must agree (a check of the benchmark, not of timing).
    stored = OutcomeSummary.objects.filter(cohort__organisation_id=organisation_id, scale="total").values_list(
        "cohort__dimension", "cohort__value", "instrument_code", "time_point", "n", "mean"
    )
    n_stored = matched = 0
    for dim, value, code, tp, n, mean in stored:
        n_stored += 1
        sql = cells.get((dim, value, code, tp))
        matched += bool(sql and sql[0] == n and math.isclose(sql[1], mean, rel_tol=1e-9))
    agree = f"{matched:,} of {n_stored:,} stored OutcomeSummary cells (scale total) equal the SQL's n and mean"
    of_org = {"cohort__organisation_id": organisation_id}
    rows = {
        "cohort states": CohortState.objects.filter(organisation_id=organisation_id).count(),
        "outcome summaries": OutcomeSummary.objects.filter(**of_org).count(),
        "change summaries": ChangeSummary.objects.filter(**of_org).count(),
        "comparison summaries": ComparisonSummary.objects.filter(**of_org).count(),
        "group vs rest (sets)": sum(
            len(group_ids) // 8
            for group_ids in GroupComparisonSet.objects.filter(**of_org).values_list("group_ids", flat=True)
        ),
        "flow summaries": FlowSummary.objects.filter(**of_org).count(),
    }
    return RecomputeResult(elapsed, cohorts, phases, sql_seconds, quartiles_seconds, len(cells), rows, agree)


# --- 3. (b) Submit-to-fresh latency with a real worker -------------------------------------------------


@dataclass
class LatencyResult:
    latencies: list[float]  # submit → every cohort of the member's group fresh
    group_latencies: list[float]  # submit → the group's own cohort fresh
    submit_seconds: list[float]
    timed_out: int
    worker_log: str

    @property
    def median(self) -> float | None:
        return pystats.median(self.latencies) if self.latencies else None

    @property
    def p95(self) -> float | None:
        return float(np.percentile(self.latencies, 95)) if self.latencies else None


def start_worker(log_path: Path) -> subprocess.Popen:
    celery = Path(sys.executable).parent / "celery"
    log = log_path.open("w")
    command = [str(celery), "-A", "peersupport", "worker", "--pool", "solo", "-Q", "celery", "--loglevel", "WARNING",
               "--hostname", f"bench-{os.getpid()}@%h"]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()  # warm shutdown: lets a running task finish
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


def wait_for_worker(worker: subprocess.Popen, timeout: float = 90) -> None:
    from peersupport.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"the Celery worker exited with {worker.returncode}")
        if app.control.ping(timeout=1.0):
            return
    raise SystemExit("the Celery worker did not answer a ping within 90 s")


POLL_SECONDS = 0.02


def bench_latency(organisation_id: int, *, submits: int, timeout: float, seed: int) -> LatencyResult:
    from django.core.cache import cache
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from groups.models import Membership
    from outcomes.evaluation.cohorts import cohort_keys
    from outcomes.evaluation.scheduling import scheduled_key
    from outcomes.instruments import registry
    from outcomes.models import Assessment, AssessmentStatus, CohortState
    from outcomes.questionnaires.responses import response_submit
    from peersupport.celery import app
    from peersupport.models import ConsentDecision

    # Members who may answer now: active, in a running group, consent not withdrawn; one per group.
    withdrew = ConsentDecision.objects.filter(action="withdrawn").values("user_id")
    candidates = list(
        Membership.objects.filter(group__organisation_id=organisation_id, status="active", group__status="running")
        .exclude(user_id__in=withdrew)
        .exclude(assessments__time_point="mid")
        .order_by("group_id", "pk")
        .distinct("group_id")
        .values_list("pk", flat=True)
    )
    rng = np.random.default_rng(seed + 1)
    chosen = rng.choice(candidates, size=min(submits, len(candidates)), replace=False).tolist()
    defn = registry.get("phq9", 1)

    cache.delete(scheduled_key(organisation_id))
    app.control.purge()  # messages queued while recompute_all marked cohorts (no worker was running then)
    log_path = Path(tempfile.gettempdir()) / f"bench-celery-worker-{os.getpid()}.log"
    worker = start_worker(log_path)
    latencies, group_latencies, submit_seconds, timed_out = [], [], [], 0
    try:
        wait_for_worker(worker)
        for n, membership_id in enumerate(chosen, start=1):
            membership = Membership.objects.select_related("group__curriculum", "user").get(pk=membership_id)
            keys = cohort_keys(membership.group)
            cohorts = CohortState.objects.filter(organisation_id=organisation_id).filter(
                reduce(operator.or_, (Q(dimension=d, value=v) for d, v in keys))
            )
            now = timezone.now()
            answers = {f"q{i}": str(int(rng.integers(0, 4))) for i in range(1, 9)} | {"q9": "0", "difficulty": "1"}
            started = time.perf_counter()
            with transaction.atomic():
                assessment = Assessment.objects.create(
                    membership=membership,
                    time_point="mid",
                    status=AssessmentStatus.OPEN,
                    opens_at=now,
                    closes_at=now + timedelta(days=14),
                    instruments=[["phq9", 1]],
                    invited_at=now,
                )
                response_submit(assessment=assessment, defn=defn, raw=answers)
            committed = time.perf_counter()
            submit_seconds.append(committed - started)
            stale = cohorts.filter(stale=True).values_list("dimension", flat=True)
            own_fresh = None
            while True:  # one query a poll, every 20 ms: the poller shares the 2 CPUs with the worker and PostgreSQL
                elapsed = time.perf_counter() - started
                still = set(stale.all())  # a fresh query each time (a QuerySet caches its rows)
                if own_fresh is None and "group" not in still:
                    own_fresh = elapsed
                if not still:
                    break
                if elapsed > timeout:
                    break
                time.sleep(POLL_SECONDS)
            if elapsed <= timeout:
                latencies.append(elapsed)
                group_latencies.append(own_fresh)
                note(f"latency {n}/{len(chosen)}: group {own_fresh:.3f} s, all {len(keys)} cohorts {elapsed:.3f} s")
                continue
            timed_out += 1
            note(f"latency {n}/{len(chosen)}: still stale after {timeout:.0f} s; stopping the latency phase")
            break
    finally:
        stop_worker(worker)
    return LatencyResult(latencies, group_latencies, submit_seconds, timed_out, str(log_path))


# --- 4. (c) The item-level export ---------------------------------------------------------------------


def export_sql(organisation) -> tuple[str, list]:
    """About the rows of ``outcomes.exports.items.item_rows``, in the same order, as one SELECT: a yardstick of
    speed (it neither withholds cells of fewer than k people nor makes per-group, per-download ids, and it writes
    the submission date the export leaves out)."""
    from outcomes.exports.pseudonyms import secret_for
    from outcomes.instruments.loading import load_all

    numbers = [
        (code, version, item.key, item.number) for (code, version), defn in load_all().items() for item in defn.items
    ]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(numbers))
    sql = f"""
        COPY (
            SELECT substr(encode(hmac(convert_to(m.user_id::text, 'UTF8'), decode(%s, 'hex'), 'sha256'), 'hex'), 1, 16)
                       AS participant,
                   m.group_id, g.format, COALESCE(c.kind, '') AS curriculum_kind, g.delivery, a.time_point,
                   r.instrument_code AS instrument, r.instrument_version, e.key AS item_key,
                   n.number AS item_number, e.value AS value,
                   (r.submitted_at AT TIME ZONE %s)::date AS submitted_date, r.source
            FROM outcomes_response r
            JOIN outcomes_assessment a ON a.id = r.assessment_id
            JOIN groups_membership m ON m.id = a.membership_id
            JOIN groups_supportgroup g ON g.id = m.group_id
            LEFT JOIN groups_curriculum c ON c.id = g.curriculum_id
            CROSS JOIN LATERAL jsonb_each(r.answers) e
            LEFT JOIN (VALUES {values}) n(code, version, key, number)
                   ON n.code = r.instrument_code AND n.version = r.instrument_version AND n.key = e.key
            WHERE g.organisation_id = %s AND r.submitted_at IS NOT NULL AND e.value <> 'null'::jsonb
            ORDER BY r.id, n.number NULLS LAST, e.key
        ) TO STDOUT (FORMAT csv, HEADER)
    """  # noqa: S608 - placeholders only
    params = [secret_for(organisation).hex(), organisation.time_zone]
    params += [v for row in numbers for v in row]
    params.append(organisation.pk)
    return sql, params


def _export_python(organisation, limit: int | None = None) -> tuple[int, int, float]:
    from itertools import islice

    from outcomes.exports.items import ITEM_COLUMNS, item_rows
    from outcomes.exports.writers import csv_stream

    rows = 0

    def counted(iterator):
        nonlocal rows
        for row in iterator:
            rows += 1
            yield row

    started = time.perf_counter()
    size = 0
    k = organisation.suppression_threshold
    for chunk in csv_stream(ITEM_COLUMNS, counted(islice(item_rows(organisation, k=k), limit))):
        size += len(chunk)  # the null sink
    return rows, size, time.perf_counter() - started


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def vm_kib(field_name: str) -> int | None:
    """``VmRSS`` or ``VmHWM`` (peak RSS) of this process, KiB; None where /proc is not available."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def export_child(organisation_id: int) -> None:
    """Run in a fresh process: measure the export from a clean memory baseline, print one JSON line."""
    from django.db import connection

    from outcomes.exports.items import ITEM_COLUMNS, item_rows
    from outcomes.exports.writers import csv_stream
    from outcomes.instruments.loading import load_all
    from peersupport.models import Organisation

    organisation = Organisation.objects.get(pk=organisation_id)
    load_all()
    list(csv_stream(ITEM_COLUMNS, [("x",) * len(ITEM_COLUMNS)]))
    item_rows(organisation, k=organisation.suppression_threshold)  # the key, cells and definitions; not the growth
    gc.collect()
    # ru_maxrss of a child started by fork/vfork + exec keeps the parent's peak (the kernel carries it over
    # exec), so the growth is read from VmHWM, the same high-water mark but per address space, reset here.
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak_reset = reset_peak_rss()
    rss_before = vm_kib("VmRSS")
    rows, size, elapsed = _export_python(organisation)
    hwm_after = vm_kib("VmHWM")
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    # tracemalloc slows the export tenfold; a streamed export reaches its peak early, so trace the first rows.
    rows_traced, _size, traced_elapsed = _export_python(organisation, limit=TRACED_ROWS)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    sql, params = export_sql(organisation)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        started = time.perf_counter()
        copy_bytes = copy_lines = 0
        with cursor.copy(sql, params) as copy:
            for data in copy:
                copy_bytes += len(data)
                copy_lines += bytes(data).count(b"\n")
        copy_elapsed = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": rows,
                "bytes": size,
                "seconds": elapsed,
                "rss_before_kib": rss_before,
                "peak_reset": peak_reset,
                "peak_growth_kib": None
                if None in (rss_before, hwm_after) or not peak_reset
                else hwm_after - rss_before,
                "maxrss_before_kib": maxrss_before,
                "maxrss_growth_kib": maxrss_after - maxrss_before,
                "traced_rows": rows_traced,
                "traced_seconds": traced_elapsed,
                "traced_peak_bytes": peak,
                "copy_rows": copy_lines - 1,
                "copy_bytes": copy_bytes,
                "copy_seconds": copy_elapsed,
            }
        ),
        flush=True,
    )


def bench_export(organisation_id: int) -> dict:
    result = subprocess.run(  # noqa: S603 - this script, in a fresh process
        [sys.executable, str(Path(__file__).resolve()), "--export-child", str(organisation_id)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit("the export phase failed (its output is above)")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Main ----------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000, help="members (one membership each; default 100000)")
    parser.add_argument("--groups", type=int, default=5_000, help="groups (default 5000)")
    parser.add_argument("--seed", type=int, default=20_250_601, help="random seed of the synthetic data")
    parser.add_argument("--submits", type=int, default=20, help="submits timed in phase (b); 0 skips it (default 20)")
    parser.add_argument(
        "--fresh-timeout", type=float, default=600, help="seconds to wait for one submit's cohorts to be fresh"
    )
    parser.add_argument("--profile", action="store_true", help="generate, profile recompute_all with cProfile, stop")
    parser.add_argument("--export-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.members < args.groups or args.groups < 10:
        parser.error("use at least 10 groups and at least as many members as groups")
    return args


def report_machine(args, info: dict[str, str], url: str) -> None:
    say("Evaluation benchmark")
    say(f"  scale       {args.members:,} members in {args.groups:,} groups (seed {args.seed})")
    for key, value in info.items():
        say(f"  {key:<11} {value}")
    say(
        f"  database    {urlsplit(url).path.lstrip('/')} (dropped and re-created), "
        f"DJANGO_DEBUG={os.environ.get('DJANGO_DEBUG')}"
    )


def report_generation(generated: Generated, copy_seconds: float, analyze_seconds: float) -> None:
    say(f"  generate + COPY         {seconds(copy_seconds)}")
    say(f"  VACUUM (ANALYZE)        {seconds(analyze_seconds)}")
    for table, n in generated.counts.items():
        say(f"  {table:<24}{n:>12,}")
    say(f"  {'item answers':<24}{generated.item_answers:>12,}  (answered items of submitted responses)")
    lost = generated.lost
    say(f"  lost to follow-up       post {lost['post']:.0%}, follow_up_3 {lost['follow_up_3']:.0%}"
        " (of completed groups' baseline responders)")  # fmt: skip
    say(
        f"  scores checked          {generated.scores_checked:,} sampled responses equal "
        "outcomes.instruments.scoring.score"
    )


def report_recompute(rec: RecomputeResult) -> tuple[bool, bool]:
    say(f"  recompute_all           {seconds(rec.seconds)}  ({rec.cohorts:,} cohorts)")
    say("  where the time goes")
    for name, spent in rec.phases.items():
        say(f"    {name:<38}{seconds(spent):>10}  ({spent / rec.seconds:>4.0%})")
    say("  rows written")
    for table, n in rec.rows.items():
        say(f"    {table:<22}{n:>10,}")
    say(f"  bare SQL GROUP BY       {seconds(rec.sql_seconds)}  ({rec.cells:,} cells: count, avg, stddev_samp; "
        "GROUPING SETS over 7 dimensions; median of 3 warm runs)")  # fmt: skip
    say(f"    + median/quartiles    {seconds(rec.sql_quartiles_seconds)}  (percentile_cont, for reference)")
    say(f"  check                   {rec.agree}")
    ok_ratio, ok_time = rec.ratio <= TARGET_RECOMPUTE_RATIO, rec.seconds < TARGET_RECOMPUTE_SECONDS
    say(f"  ratio                   {rec.ratio:,.1f}×  target ≤ {TARGET_RECOMPUTE_RATIO:.0f}× {mark(ok_ratio)}")
    say(f"  time                    {seconds(rec.seconds)}  target < {TARGET_RECOMPUTE_SECONDS:.0f} s {mark(ok_time)}")
    return ok_ratio, ok_time


def report_latency(lat: LatencyResult, timeout: float) -> bool:
    if not lat.latencies:
        say(f"  no submit became fresh within {timeout:.0f} s: median > {timeout:.0f} s ✗")
        say(f"  worker log              {lat.worker_log}")
        return False
    ok = lat.median < TARGET_LATENCY_MEDIAN
    more = f" (+{lat.timed_out} timed out after {timeout:.0f} s)" if lat.timed_out else ""
    say(f"  submits timed           {len(lat.latencies)}{more}")
    say(f"  submit itself (median)  {seconds(pystats.median(lat.submit_seconds))}  (response_submit and commit)")
    say(f"  median                  {seconds(lat.median)}  target < {TARGET_LATENCY_MEDIAN:.0f} s {mark(ok)}"
        "  (every cohort of the group fresh)")  # fmt: skip
    say(f"  p95                     {seconds(lat.p95)}")
    group = lat.group_latencies
    say(f"  the group's own cohort  median {seconds(pystats.median(group))}, "
        f"p95 {seconds(float(np.percentile(group, 95)))}  (refreshed first, in its own transaction)")  # fmt: skip
    say(f"  min / max               {seconds(min(lat.latencies))} / {seconds(max(lat.latencies))}")
    say(f"  worker log              {lat.worker_log}")
    return ok


def report_export(exp: dict) -> tuple[bool, bool]:
    rate = exp["rows"] / exp["seconds"]
    peak_mb = exp["traced_peak_bytes"] / 1024 / 1024
    growth_mb = exp["peak_growth_kib"] / 1024 if exp["peak_growth_kib"] is not None else None
    memory_mb = max(growth_mb or 0.0, peak_mb)
    ok_rate, ok_memory = rate >= TARGET_EXPORT_ROWS_PER_S, memory_mb < TARGET_EXPORT_MB
    say(f"  rows                    {exp['rows']:,}  ({exp['bytes'] / 1e6:,.0f} MB of CSV)")
    say(f"  time                    {seconds(exp['seconds'])}")
    say(f"  rows per second         {rate:,.0f}  target ≥ {TARGET_EXPORT_ROWS_PER_S:,} {mark(ok_rate)}")
    if growth_mb is None:
        say("  peak RSS growth         not available (no /proc/self/clear_refs)")
    else:
        say(f"  peak RSS growth         {growth_mb:,.1f} MB  (VmHWM during the export − VmRSS before, "
            f"{exp['rss_before_kib'] / 1024:,.0f} MB)")  # fmt: skip
    maxrss_mb, maxrss_from = exp["maxrss_growth_kib"] / 1024, exp["maxrss_before_kib"] / 1024
    say(f"  ru_maxrss delta         {maxrss_mb:,.1f} MB  (from {maxrss_from:,.0f} MB: a child's ru_maxrss starts at its"
        " parent's peak, which hides growth below it)")  # fmt: skip
    say(
        f"  tracemalloc peak        {peak_mb:,.1f} MB  (a second pass, traced, over the first "
        f"{exp['traced_rows']:,} rows: {seconds(exp['traced_seconds'])})"
    )
    say(f"  memory target           < {TARGET_EXPORT_MB:.0f} MB {mark(ok_memory)}")
    copy_rate = exp["copy_rows"] / exp["copy_seconds"]
    say(f"  COPY … TO STDOUT        {seconds(exp['copy_seconds'])}  {exp['copy_rows']:,} rows, {copy_rate:,.0f} rows/s"
        f"  (the Python export takes {exp['seconds'] / exp['copy_seconds']:.1f}× as long)")  # fmt: skip
    if exp["copy_rows"] != exp["rows"]:
        say(f"  note                    COPY gave {exp['copy_rows']:,} rows, the export {exp['rows']:,}")
    return ok_rate, ok_memory


def main(argv=None) -> None:
    args = parse_args(argv)
    url = database_url_or_exit()
    if args.export_child is not None:
        django_setup()
        export_child(args.export_child)
        return
    redis_url_or_exit()  # also for --profile: without it Celery runs tasks eagerly, inside recompute_all
    wall = time.perf_counter()
    recreate_database(url)
    django_setup()
    from django.core.management import call_command
    from django.db import connection

    info = machine()
    report_machine(args, info, url)

    say("\n1. Generate")
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgcrypto")  # HMAC pseudonyms in the COPY comparison
    say(f"  migrate                 {seconds(time.perf_counter() - started)}")
    started = time.perf_counter()
    generated = generate(args.members, args.groups, args.seed)
    copy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    vacuum_analyze()
    report_generation(generated, copy_seconds, time.perf_counter() - started)
    org = generated.organisation_id

    if args.profile:
        bench_recompute(org, profile=True)
        return

    say("\n2. (a) Full recompute: outcomes.evaluation.recompute.recompute_all vs a bare GROUP BY over the same cells")
    rec = bench_recompute(org)
    ok_ratio, ok_time = report_recompute(rec)

    say("\n3. (b) Submit-to-fresh latency (Celery worker --pool solo; submit → the member's cohorts not stale)")
    lat = None
    if args.submits:
        lat = bench_latency(org, submits=args.submits, timeout=args.fresh_timeout, seed=args.seed)
        ok_latency = report_latency(lat, args.fresh_timeout)
    else:
        say("  skipped (--submits 0)")

    say("\n4. (c) Item-level CSV export: item_rows → csv_stream → null sink (in a fresh process)")
    exp = bench_export(org)
    ok_rate, ok_memory = report_export(exp)

    say("\nSummary")
    say(f"  machine                 {info['nproc']} CPUs ({info['cpu']}), {info['memory']}, "
        f"PostgreSQL {info['postgresql'].split()[0]}")  # fmt: skip
    say(f"  scale                   {args.members:,} members, {args.groups:,} groups, "
        f"{generated.counts['responses']:,} responses, {generated.item_answers:,} item answers")  # fmt: skip
    say(f"  (a) full recompute      {seconds(rec.seconds)} = {rec.ratio:,.1f}× bare SQL "
        f"({seconds(rec.sql_seconds)})   targets ≤ 3× {mark(ok_ratio)}, < 60 s {mark(ok_time)}")  # fmt: skip
    if lat is None:
        say("  (b) submit → fresh      not measured")
    elif lat.latencies:
        say(f"  (b) submit → fresh      median {seconds(lat.median)}, p95 {seconds(lat.p95)} over "
            f"{len(lat.latencies)} submits   target median < 1 s {mark(ok_latency)}")  # fmt: skip
    else:
        say(f"  (b) submit → fresh      > {args.fresh_timeout:.0f} s (timed out)   target median < 1 s ✗")
    rate = exp["rows"] / exp["seconds"]
    memory = max((exp["peak_growth_kib"] or 0) / 1024, exp["traced_peak_bytes"] / 1024 / 1024)
    say(f"  (c) item export         {rate:,.0f} rows/s, memory +{memory:,.1f} MB; COPY "
        f"{exp['copy_rows'] / exp['copy_seconds']:,.0f} rows/s   targets ≥ 100,000 rows/s {mark(ok_rate)}, "
        f"< 50 MB {mark(ok_memory)}")  # fmt: skip
    say(f"  wall time               {seconds(time.perf_counter() - wall)}")


if __name__ == "__main__":
    main()
