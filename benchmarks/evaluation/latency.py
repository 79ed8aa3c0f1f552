"""3. (b) Submit-to-fresh latency with a real Celery worker."""

from __future__ import annotations

import operator
import os
import statistics as pystats
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from pathlib import Path

import numpy as np

from .config import ROOT
from .output import note


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
