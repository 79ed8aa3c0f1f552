"""Main: arguments, the report of each phase, and the run of the phases in order."""

from __future__ import annotations

import argparse
import importlib
import os
import statistics as pystats
import time
from urllib.parse import urlsplit

import numpy as np

from .config import (
    TARGET_EXPORT_MB,
    TARGET_EXPORT_ROWS_PER_S,
    TARGET_LATENCY_MEDIAN,
    TARGET_RECOMPUTE_RATIO,
    TARGET_RECOMPUTE_SECONDS,
)
from .environment import database_url_or_exit, django_setup, machine, recreate_database, redis_url_or_exit
from .export import bench_export, export_child
from .generate import Generated, generate, vacuum_analyze
from .latency import LatencyResult, bench_latency
from .output import mark, say, seconds
from .recompute import RecomputeResult, bench_recompute

# The package's docstring (benchmarks/evaluation/__init__.py), whichever name it was imported under.
DESCRIPTION = importlib.import_module(__package__).__doc__


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.evaluation",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        f"p95 {seconds(float(np.percentile(group, 95)))}")  # fmt: skip
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
