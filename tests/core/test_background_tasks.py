"""Under `make run` (no broker) the recompute a submit queues runs in a background thread, as a worker would:
the member's request returns without waiting for the figures, and the figures are fresh once it has run."""

from __future__ import annotations

import threading

import pytest
from celery.signals import task_prerun
from django.db import transaction

from outcomes.evaluation import marking
from outcomes.models import CohortState
from peersupport import jobs
from tests.factories import facilitated_group

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def background():
    jobs.run_in_background()
    yield
    jobs.stop_background()


@pytest.fixture
def task_threads():
    seen: list[tuple[str, str]] = []

    def note(sender=None, **_):
        seen.append((sender.name, threading.current_thread().name))

    task_prerun.connect(note, weak=False)
    yield seen
    task_prerun.disconnect(note)


def test_a_marked_group_is_recomputed_in_the_background_thread_not_in_the_caller(background, task_threads):
    group, _facilitator = facilitated_group()
    with transaction.atomic():
        marking.mark_stale(group)
    # The commit returned with the recompute queued, not done, in this thread.
    assert ("outcomes.tasks.recompute_organisation", threading.current_thread().name) not in task_threads
    jobs.stop_background(wait=True)  # let the queued task finish
    assert [name for task, name in task_threads if task == "outcomes.tasks.recompute_organisation"]
    assert all(
        name.startswith("in-process-task")
        for task, name in task_threads
        if task == "outcomes.tasks.recompute_organisation"
    )
    cohorts = CohortState.objects.filter(organisation=group.organisation)
    assert cohorts.exists()
    assert not cohorts.filter(stale=True).exists()
    assert not cohorts.filter(computed_at__isnull=True).exists()


def test_without_the_background_thread_the_recompute_runs_in_the_caller_as_tests_expect(task_threads):
    group, _facilitator = facilitated_group()
    with transaction.atomic():
        marking.mark_stale(group)
    assert ("outcomes.tasks.recompute_organisation", threading.current_thread().name) in task_threads
    cohorts = CohortState.objects.filter(organisation=group.organisation)
    assert cohorts.exists()
    assert not cohorts.filter(stale=True).exists()
    assert not cohorts.filter(computed_at__isnull=True).exists()
