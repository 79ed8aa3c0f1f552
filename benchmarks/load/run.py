"""Load benchmark: members signing in and answering, facilitators taking registers, a lead opening the
evaluation and exporting, against gunicorn + PostgreSQL + Redis + a Celery worker that this script starts.

Run (from the repository root, against a scratch PostgreSQL database that is DROPPED and re-created):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python benchmarks/load/run.py [--users 50] [--duration 90]

Steps (each a function below):

1. ``seed``     the synthetic organisation of ``benchmarks/evaluation`` (``generate``: members, groups,
                sessions, answers), its figures recomputed, then ``seed_demo``; the synthetic organisation's
                lead, facilitators and members with an open questionnaire get the demo password.
2. ``serve``    ``collectstatic``, gunicorn (``--workers``/``--threads``) and a Celery worker, with
                ``benchmarks/load/settings.py`` (production settings over plain HTTP).
3. ``swarm``    locust, headless, ``locustfile.py`` for ``--duration`` seconds, writing its CSV figures.
4. ``report``   p50/p95 per page beside the static file's, the error count, and the target
                (questionnaire page p95 within 3x the static file's, 0 errors).

Prints figures and the target; asserts nothing about timings. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # benchmarks/: the evaluation package's public helpers
sys.path.insert(0, str(ROOT))

import evaluation  # noqa: E402

SETTINGS = "benchmarks.load.settings"
TARGET_RATIO = 3.0
QUESTIONNAIRE_PAGE = "member: questionnaire page"
STATIC_FILE = "static file"
EXTRA_LEADS = 4  # besides the synthetic organisation's own lead: 50 users at 7:2:1 start five leads


def say(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of every process of the run: the same settings, database, broker and mail sink."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "load-benchmark-only-" + uuid.uuid4().hex,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_URL": "memorymail://",  # e-mails are built and "sent" by the worker, into memory
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CI", None)
    return env


def django_setup(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.chdir(ROOT)
    import django

    django.setup()


# --- 1. Seed ---------------------------------------------------------------------------------------


def seed(*, members: int, groups: int, seed_value: int) -> dict[str, object]:
    """The synthetic organisation (on the empty database: its ids start at 1), then the demo on top."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from outcomes.evaluation.recompute import recompute_all
    from peersupport.demo import DEMO_PASSWORD
    from peersupport.models import Organisation

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    note(f"generating {members:,} members in {groups:,} groups")
    generated = evaluation.generate(members, groups, seed_value)
    evaluation.vacuum_analyze()
    note("recomputing the synthetic organisation's figures")
    recompute_all(organisation_id=generated.organisation_id)
    note("seed_demo")
    call_command("seed_demo", verbosity=0, stdout=io.StringIO())
    organisation = Organisation.objects.get(pk=generated.organisation_id)
    accounts = load_accounts(organisation, make_password(DEMO_PASSWORD))
    evaluation.vacuum_analyze()
    return {
        "organisation": organisation.slug,
        "counts": generated.counts,
        "seconds": time.perf_counter() - started,
        **accounts,
    }


def reseed() -> dict[str, object]:
    """``--reuse``: the data of an earlier run, migrated and recomputed with the code of now, with questionnaires
    opened again for members who answered."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from outcomes.evaluation.recompute import recompute_all
    from outcomes.models import Response
    from peersupport.demo import DEMO_PASSWORD
    from peersupport.models import Organisation, User

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)  # the code may have gained migrations since
    organisation = Organisation.objects.get(slug="bench")
    recompute_all(organisation_id=organisation.pk)  # and its figures new columns
    counts = {
        "users": User.objects.filter(roles__organisation=organisation).count(),
        "groups": organisation.support_groups.count(),
        "responses": Response.objects.filter(assessment__membership__group__organisation=organisation).count(),
    }
    accounts = load_accounts(organisation, make_password(DEMO_PASSWORD))
    return {"organisation": organisation.slug, "counts": counts, "seconds": time.perf_counter() - started, **accounts}


def load_accounts(organisation, password_hash: str) -> dict[str, object]:
    """Give the synthetic organisation's lead, facilitators and members with an open, unanswered
    questionnaire the demo password (and a verified address, as allauth requires), and open one more
    questionnaire for active members who have none, so every simulated member has something to answer."""
    from datetime import timedelta

    from allauth.account.models import EmailAddress
    from django.db import transaction
    from django.utils import timezone

    from groups.models import GroupStatus, MembershipStatus
    from outcomes.models import Assessment, AssessmentStatus
    from peersupport.models import ConsentDecision, RoleKind, User

    now = timezone.now()
    with transaction.atomic():
        withdrew = ConsentDecision.objects.filter(
            consent_version__organisation=organisation, action=ConsentDecision.Action.WITHDRAWN
        ).values("user_id")
        unanswered = (
            Assessment.objects.filter(
                membership__group__organisation=organisation,
                membership__group__status=GroupStatus.RUNNING,
                membership__status=MembershipStatus.ACTIVE,
                responses__isnull=True,
            )
            .exclude(membership__user_id__in=withdrew)
            .exclude(status=AssessmentStatus.COMPLETED)
        )
        # Open the earliest unanswered time point of each active member (upcoming or expired ones too).
        chosen = {}
        for pk, user_id in unanswered.order_by("membership__user_id", "opens_at").values_list(
            "pk", "membership__user_id"
        ):
            chosen.setdefault(user_id, pk)
        instruments = [[code, 1] for code in ("phq9", "gad7")]
        Assessment.objects.filter(pk__in=chosen.values()).update(
            status=AssessmentStatus.OPEN,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=20),
            instruments=instruments,
            completed_at=None,
        )
        member_ids = sorted(chosen)
        staff = User.objects.filter(
            roles__organisation=organisation, roles__kind__in=[RoleKind.FACILITATOR, RoleKind.LEAD]
        )
        staff_ids = list(staff.values_list("pk", flat=True))
        User.objects.filter(pk__in=member_ids + staff_ids).update(password=password_hash)
        EmailAddress.objects.bulk_create(
            [
                EmailAddress(user_id=pk, email=email, verified=True, primary=True)
                for pk, email in User.objects.filter(pk__in=member_ids + staff_ids).values_list("pk", "email")
            ],
            ignore_conflicts=True,
        )
        emails = dict(User.objects.filter(pk__in=member_ids + staff_ids).values_list("pk", "email"))
        # Facilitators of a running group: they have a register to take.
        running = staff.filter(
            roles__kind=RoleKind.FACILITATOR, facilitated_groups__status=GroupStatus.RUNNING
        ).distinct()
        facilitators = sorted(emails[pk] for pk in running.values_list("pk", flat=True))
        leads = sorted(emails[pk] for pk in staff.filter(roles__kind=RoleKind.LEAD).values_list("pk", flat=True))
        leads += extra_leads(organisation, password_hash, count=EXTRA_LEADS - len(leads) + 1)
        enrol_second_factor(User.objects.filter(email__in=facilitators + leads))
    return {"members": [emails[pk] for pk in member_ids], "facilitators": facilitators, "leads": leads}


def extra_leads(organisation, password_hash: str, *, count: int) -> list[str]:
    """More leads of the synthetic organisation (it has one), so each simulated lead signs in as a person of
    their own: an authenticator's code is accepted once (allauth marks it used), so five people typing one
    account's code in the same 30 s would be refused."""
    from allauth.account.models import EmailAddress

    from peersupport.models import Role, RoleKind, User

    emails = []
    for k in range(1, max(0, count) + 1):
        email = f"bench-lead-{k}@example.org"
        user, _ = User.objects.get_or_create(
            email=email, defaults={"display_name": f"Bench lead {k}", "password": password_hash}
        )
        User.objects.filter(pk=user.pk).update(password=password_hash)
        EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        Role.objects.get_or_create(user=user, organisation=organisation, kind=RoleKind.LEAD)
        emails.append(email)
    return emails


def enrol_second_factor(staff) -> None:
    """Staff need a second factor: the demo's authenticator (``peersupport.demo.DEMO_TOTP_SECRET``) for each
    facilitator and lead the swarm signs in as; ``locustfile.py`` types its code after the password."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP

    from peersupport.demo import DEMO_TOTP_SECRET

    enrolled = set(
        Authenticator.objects.filter(user__in=staff, type=Authenticator.Type.TOTP).values_list("user_id", flat=True)
    )
    for user in staff:
        if user.pk not in enrolled:
            TOTP.activate(user, DEMO_TOTP_SECRET)


# --- 2. Serve --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def static_path() -> str:
    from django.contrib.staticfiles.storage import staticfiles_storage

    return "/" + staticfiles_storage.url("css/site.css").lstrip("/")


def start_server(
    env: dict[str, str], *, port: int, workers: int, threads: int, timeout: int, log: Path
) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "peersupport.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
               "--keep-alive", "5", "--timeout", str(timeout),
               "--access-logfile", "-", "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        # A process group of its own: stopping it stops gunicorn's workers too (see stop_server).
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(url: str, process: subprocess.Popen, timeout: float = 300) -> None:
    """Wait for the server to answer ``url`` (its workers import Django, numpy and scipy: over a minute on a
    busy machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=30):  # noqa: S310 - our own loopback server
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    """Stop gunicorn and every worker it forked. Its workers finish the requests they hold first, and on a
    saturated machine that outlasts any wait: killing only the master left them running, serving nobody,
    taking the CPU of the next run. So the whole process group (``start_new_session``) is stopped, then killed."""
    try:
        group = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.poll()
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


# --- 3. Swarm --------------------------------------------------------------------------------------


def swarm(env: dict[str, str], *, host: str, users: int, spawn_rate: float, duration: int, prefix: Path) -> int:
    locust = Path(sys.executable).parent / "locust"
    if not locust.exists():
        raise SystemExit("locust is not installed: .venv/bin/pip install -r requirements-dev.txt")
    command = [str(locust), "-f", str(HERE / "locustfile.py"), "--headless", "--host", host,
               "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{duration}s",
               "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "10"]  # fmt: skip
    return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603 - our own executable, fixed arguments


# --- 4. Report -------------------------------------------------------------------------------------


def read_stats(prefix: Path) -> tuple[list[dict], list[dict]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        stats = list(csv.DictReader(f))
    failures_path = Path(f"{prefix}_failures.csv")
    failures = list(csv.DictReader(failures_path.open(newline=""))) if failures_path.exists() else []
    return stats, failures


def report(stats: list[dict], failures: list[dict], *, duration: int) -> bool:
    rows = [r for r in stats if r["Name"] != "Aggregated"]
    total = next((r for r in stats if r["Name"] == "Aggregated"), None)
    say(f"  {'page':<38}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for r in sorted(rows, key=lambda r: (r["Name"] != STATIC_FILE, r["Name"])):
        say(f"  {r['Name']:<38}{int(r['Request Count']):>9,}{int(r['Failure Count']):>8}"
            f"{r['50%']:>9}{r['95%']:>9}{float(r['Max Response Time']):>9.0f}")  # fmt: skip
    errors = int(total["Failure Count"]) if total else -1
    if total:
        say(f"  {'all':<38}{int(total['Request Count']):>9,}{errors:>8}{total['50%']:>9}{total['95%']:>9}"
            f"   ({float(total['Requests/s']):.1f} requests/s over {duration} s)")  # fmt: skip
    for f in failures:
        say(f"  error: {f['Method']} {f['Name']}: {f['Error']} ×{f['Occurrences']}")
    by_name = {r["Name"]: r for r in rows}
    static, page = by_name.get(STATIC_FILE), by_name.get(QUESTIONNAIRE_PAGE)
    if not (static and page):
        say("  the static file or the questionnaire page was never requested: no ratio")
        return False
    ratio = float(page["95%"]) / max(1.0, float(static["95%"]))
    ok_ratio, ok_errors = ratio <= TARGET_RATIO, errors == 0
    say()
    say(f"  questionnaire page p95 / static file p95 = {page['95%']} / {static['95%']} ms = {ratio:.1f}x"
        f"   target <= {TARGET_RATIO:.0f}x  {evaluation.mark(ok_ratio)}")  # fmt: skip
    say(f"  errors {errors}   target 0  {evaluation.mark(ok_errors)}")
    return ok_ratio and ok_errors


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50, help="simulated people at once (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=5, help="people started per second (default 5)")
    parser.add_argument("--duration", type=int, default=90, help="seconds of load after the start (default 90)")
    parser.add_argument("--members", type=int, default=10_000, help="synthetic organisation's members")
    parser.add_argument("--groups", type=int, default=500, help="synthetic organisation's groups")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument(
        "--timeout",
        type=int,
        default=120,
        help="gunicorn's worker timeout in seconds (default 120: a worker it kills drops its other threads' requests)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of an earlier run (no drop, no seeding: minutes saved)"
    )
    parser.add_argument("--seed", type=int, default=20250601, help="seed of the synthetic data")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    database_url = evaluation.database_url_or_exit()
    redis_url = evaluation.redis_url_or_exit()
    env = environment(database_url, redis_url)
    if not args.reuse:
        evaluation.recreate_database(database_url)
    django_setup(env)
    info = evaluation.machine()
    say("Load benchmark")
    say(f"  machine      {info['nproc']} CPUs ({info['cpu']}), {info['memory']}; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} before the run")  # fmt: skip
    say(f"  postgresql   {info['postgresql']}")
    say(f"  server       gunicorn gthread, {args.workers} workers x {args.threads} threads; a Celery worker (solo)")
    say(f"  load         {args.users} users, {args.spawn_rate:g}/s spawned, {args.duration} s, locust on this machine")

    started = time.perf_counter()
    seeded = reseed() if args.reuse else seed(members=args.members, groups=args.groups, seed_value=args.seed)
    say(f"  seeded       demo + {seeded['counts']['users']:,} users, {seeded['counts']['groups']:,} groups, "
        f"{seeded['counts']['responses']:,} responses in {seeded['seconds']:.0f} s; "
        f"{len(seeded['members']):,} members with a questionnaire to answer")  # fmt: skip
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)
    static = static_path()
    from django.db import connections

    connections.close_all()

    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no message of an earlier run
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    accounts = workdir / "accounts.json"
    accounts.write_text(json.dumps({key: seeded[key] for key in ("organisation", "members", "facilitators", "leads")}))
    swarm_env = {**env, "LOAD_ACCOUNTS": str(accounts), "LOAD_STATIC": static}
    worker = evaluation.start_worker(workdir / "worker.log")
    server = start_server(
        env, port=port, workers=args.workers, threads=args.threads, timeout=args.timeout, log=workdir / "gunicorn.log"
    )
    try:
        wait_for(f"{host}/health/", server)
        evaluation.wait_for_worker(worker)
        note(f"swarming {host} for {args.duration} s (logs in {workdir})")
        code = swarm(swarm_env, host=host, users=args.users, spawn_rate=args.spawn_rate, duration=args.duration,
                     prefix=workdir / "locust")  # fmt: skip
    finally:
        stop_server(server)
        evaluation.stop_worker(worker)
    say(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} after the run; "
        f"whole run {time.perf_counter() - started:.0f} s")  # fmt: skip
    say()
    stats, failures = read_stats(workdir / "locust")
    ok = report(stats, failures, duration=args.duration)
    if code not in (0, 1):  # 1: locust saw failures, reported above
        say(f"  locust exited with {code}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
