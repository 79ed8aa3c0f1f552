"""Disclosure control inside the recompute, and what a lead reads, at 50, 250, 1,000 and 5,000 groups.

Run (from the repository root, against a scratch PostgreSQL database that is DROPPED and re-created per size):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python benchmarks/reads.py \\
        [--groups 50 250 1000 5000] [--members-per-group 20] [--audit-up-to 50]

For each size, in a fresh process: the synthetic organisation of ``benchmarks/evaluation`` (``generate``, 20
members per group), ``recompute_all`` (which protects the figures in its transaction: the protection step's own
time is the stored ``FigureProtection.seconds``) against the bare ``GROUP BY GROUPING SETS`` SQL over the same
cells, then as a signed-in lead (Django's test client, a lead with a second factor): the evaluation page, the
summary CSV, the summary XLSX, the meta-analysis CSV, and the JSON report (``evaluation_report``), each with the
process's peak-memory growth during it. Up to ``--audit-up-to`` groups the auditor runs on what the lead reads.
Prints a table and the targets (issue 15); asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluation as ev  # noqa: E402  (the benchmarks/evaluation package: generation, bare SQL, memory probes)

TARGET_PAGE_S = 2.0
TARGET_XLSX_S = 15.0
TARGET_MB = 200.0
TARGET_RATIO = 3.0
READS = (
    ("page", "outcomes:evaluation"),
    ("summary.csv", "outcomes:export_summary_csv"),
    ("summary.xlsx", "outcomes:export_summary_xlsx"),
    ("meta.csv", "outcomes:export_meta_analysis_csv"),
)


def _measured(call):
    """(seconds, peak RSS growth in MB, result) of ``call()``."""
    before = ev.vm_kib("VmRSS") or 0
    ev.reset_peak_rss()
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    peak = ev.vm_kib("VmHWM") or before
    return elapsed, max(peak - before, 0) / 1024, result


def one_size(groups: int, members_per_group: int, seed: int, audit_up_to: int) -> dict:
    url = ev.database_url_or_exit()
    ev.recreate_database(url)
    ev.django_setup()
    from django.conf import settings

    # The page names static files by their hashed names after collectstatic; a benchmark need not collect them.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from allauth.mfa.totp.internal.auth import TOTP
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from outcomes.evaluation.recompute import recompute_all
    from outcomes.models import CohortState, FigureProtection
    from peersupport.models import Organisation, Role, RoleKind

    call_command("migrate", interactive=False, verbosity=0)
    generated = ev.generate(groups * members_per_group, groups, seed)
    ev.vacuum_analyze()
    org_id = generated.organisation_id
    started = time.perf_counter()
    recompute_all(organisation_id=org_id)
    recompute_s = time.perf_counter() - started
    bare = ev.BARE_SQL.format(extra="")
    ev.timed_sql(bare, [org_id])
    sql_s = sorted(ev.timed_sql(bare, [org_id])[0] for _ in range(3))[1]
    protection = FigureProtection.objects.get(organisation_id=org_id)
    stamps = set(CohortState.objects.filter(organisation_id=org_id).values_list("computed_at", flat=True))

    organisation = Organisation.objects.get(pk=org_id)
    lead = Role.objects.filter(organisation=organisation, kind=RoleKind.LEAD).select_related("user").first().user
    TOTP.activate(lead, "JBSWY3DPEHPK3PXP")
    client = Client(HTTP_HOST="localhost")
    client.force_login(lead)
    out: dict = {
        "groups": groups,
        "members": groups * members_per_group,
        "cohorts": CohortState.objects.filter(organisation_id=org_id).count(),
        "figures": protection.figures,
        "hidden": len(protection.hidden),
        "unprotected": len(protection.unprotected),
        "recompute_s": recompute_s,
        "protect_s": protection.seconds,
        "sql_s": sql_s,
        "one_stamp": stamps == {protection.computed_at},
    }
    for label, name in READS:

        def fetch(name=name):
            response = client.get(reverse(name, args=[organisation.slug]), secure=True)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
            return len(body)

        out[f"{label}_s"], out[f"{label}_mb"], out[f"{label}_bytes"] = _measured(fetch)

    def report():
        text = io.StringIO()
        call_command("evaluation_report", "--org", organisation.slug, stdout=text)
        return len(text.getvalue())

    out["json_s"], out["json_mb"], out["json_bytes"] = _measured(report)
    if groups <= audit_up_to:
        text = io.StringIO()
        started = time.perf_counter()
        try:
            call_command("audit_disclosure", "--org", organisation.slug, stdout=text)
            out["audit"] = text.getvalue().strip().splitlines()[0]
        except Exception as error:  # noqa: BLE001 - the command's refusal is the finding to print
            out["audit"] = f"{text.getvalue().strip()} {error}"
        out["audit_s"] = time.perf_counter() - started
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, nargs="+", default=[50, 250, 1000, 5000])
    parser.add_argument("--members-per-group", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20_250_601)
    parser.add_argument("--audit-up-to", type=int, default=50, help="run the auditor up to this many groups")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one size may take (default 3600)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    ev.database_url_or_exit()
    if args.one is not None:
        print(json.dumps(one_size(args.one, args.members_per_group, args.seed, args.audit_up_to)), flush=True)
        return
    print(f"Disclosure control and what a lead reads ({args.members_per_group} members per group, seed {args.seed}; "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs)")  # fmt: skip
    header = (
        f"{'groups':>6} {'cohorts':>7} {'figures':>8} {'hidden':>7} {'left':>4} {'recompute':>9} {'protect':>8} "
        f"{'bare SQL':>8} {'ratio':>6} {'page':>7} {'csv':>7} {'xlsx':>7} {'meta':>7} {'json':>7} {'max +MB':>7}"
    )
    print(header, flush=True)
    results = []
    for groups in args.groups:
        command = [sys.executable, __file__, "--one", str(groups), "--members-per-group", str(args.members_per_group),
                   "--seed", str(args.seed), "--audit-up-to", str(args.audit_up_to)]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=args.timeout)  # noqa: S603 - our own script
        except subprocess.TimeoutExpired:
            print(f"{groups:>6} did not finish within {args.timeout:.0f} s (stopped)", flush=True)
            continue
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode or not lines:
            print(f"{groups:>6} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}", flush=True)
            continue
        r = json.loads(lines[-1])
        results.append(r)
        mb = max(r[f"{label}_mb"] for label in ("page", "summary.csv", "summary.xlsx", "meta.csv", "json"))
        ratio = r["recompute_s"] / r["sql_s"]
        print(
            f"{groups:>6} {r['cohorts']:>7,} {r['figures']:>8,} {r['hidden']:>7,} {r['unprotected']:>4} "
            f"{r['recompute_s']:>8.1f}s {r['protect_s']:>7.1f}s {r['sql_s']:>7.2f}s {ratio:>5.1f}× "
            f"{r['page_s']:>6.2f}s {r['summary.csv_s']:>6.2f}s {r['summary.xlsx_s']:>6.2f}s {r['meta.csv_s']:>6.2f}s "
            f"{r['json_s']:>6.2f}s {mb:>7.1f}",
            flush=True,
        )
        if "audit" in r:
            print(f"       auditor ({r['audit_s']:.1f} s): {r['audit']}", flush=True)
        if not r["one_stamp"]:
            print("       ✗ the protection's computed-at differs from the cohorts'", flush=True)
    if results:
        largest = results[-1]
        mb = max(largest[f"{label}_mb"] for label in ("page", "summary.csv", "summary.xlsx", "meta.csv", "json"))
        print(
            f"\nTargets at {largest['groups']:,} groups: page < {TARGET_PAGE_S:g} s "
            f"{ev.mark(largest['page_s'] < TARGET_PAGE_S)}, XLSX < {TARGET_XLSX_S:g} s "
            f"{ev.mark(largest['summary.xlsx_s'] < TARGET_XLSX_S)}, memory growth < {TARGET_MB:g} MB "
            f"{ev.mark(mb < TARGET_MB)}, recompute with protection ≤ {TARGET_RATIO:g}× bare SQL "
            f"{ev.mark(largest['recompute_s'] / largest['sql_s'] <= TARGET_RATIO)}"
        )


if __name__ == "__main__":
    main()
