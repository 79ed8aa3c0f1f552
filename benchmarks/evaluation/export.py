"""4. (c) The item-level export (rows/s, memory) against ``COPY … TO STDOUT``, in a child process."""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from .config import ROOT, TRACED_ROWS


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
    result = subprocess.run(  # noqa: S603 - this benchmark, in a fresh process
        [sys.executable, "-m", "benchmarks.evaluation", "--export-child", str(organisation_id)],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit("the export phase failed (its output is above)")
    return json.loads(result.stdout.strip().splitlines()[-1])
