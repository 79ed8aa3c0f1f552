"""With PostgreSQL, Redis and a real worker: lost recomputes are swept up; bursts coalesce."""

from __future__ import annotations

import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from outcomes.evaluation import marking, recompute
from outcomes.models import CohortState
from outcomes.tasks import sweep_stale_cohorts
from peersupport.celery import app as celery_app
from tests.factories import active_member, facilitated_group
from tests.outcomes.test_aggregation import answered

pytestmark = [pytest.mark.integration, pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker(real_stack):
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    yield
    celery_app.control.purge()


def queued(task: str = "outcomes.tasks.recompute_organisation") -> int:
    """How many messages for ``task`` wait in the broker's default queue."""
    with celery_app.connection_for_write() as conn:
        messages = conn.default_channel.client.lrange("celery", 0, -1)
    return sum(1 for raw in messages if json.loads(raw)["headers"]["task"] == task)


def test_a_burst_of_submits_queues_one_recompute(broker):
    group, _ = facilitated_group()
    for _ in range(100):
        with transaction.atomic():
            answered(active_member(group), "baseline", 20)
            marking.mark_stale(group)
    time.sleep(0.2)
    assert queued() == 1


def test_killing_the_worker_before_the_recompute_leaves_the_cohort_stale_and_the_sweep_fixes_it(broker):
    group, _ = facilitated_group()
    with transaction.atomic():
        answered(active_member(group), "baseline", 20)
        marking.mark_stale(group)
    assert queued() == 1
    celery_app.control.purge()  # the worker died with the message: it is gone
    assert CohortState.objects.filter(stale=True).count() == 7
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert sweep_stale_cohorts.delay().get(timeout=60) == 7
    assert not CohortState.objects.filter(stale=True).exists()


def test_a_submit_is_fresh_soon_after_commit_with_a_worker_running(broker):
    group, _ = facilitated_group()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with transaction.atomic():
            answered(active_member(group), "baseline", 20)
            marking.mark_stale(group)
        deadline = time.monotonic() + 20
        while CohortState.objects.filter(stale=True).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not CohortState.objects.filter(stale=True).exists()


def test_two_workers_recomputing_one_cohort_at_once_leave_one_consistent_set_of_figures(real_stack):
    import threading

    from django.db import connection

    from outcomes.models import OutcomeSummary

    group, _ = facilitated_group()
    for score in (10, 12, 14, 16, 18, 20):
        answered(active_member(group), "baseline", score)
    with transaction.atomic():
        marking.mark_stale(group)
    cohort = CohortState.objects.get(dimension="group", value=str(group.pk))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work():
        try:
            barrier.wait(timeout=10)
            recompute.recompute_cohort(cohort.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    rows = OutcomeSummary.objects.filter(cohort=cohort, scale="total", time_point="baseline")
    assert rows.count() == 1 and rows.get().n == 6 and rows.get().mean == 15.0


def test_saving_group_data_does_not_wait_for_a_submit_in_flight_and_leaves_its_group_to_be_read_again(real_stack):
    import threading

    import numpy as np
    from django.db import connection

    from outcomes.evaluation import engine, group_data

    group, _ = facilitated_group()
    members = [active_member(group) for _ in range(3)]
    for m in members:
        answered(m, "baseline", 20)
    answered(members[0], "post", 22)  # committed (this test runs without a wrapping transaction)
    result = group_data.read(group.organisation_id)
    assert list(result.to_save) == [group.pk]
    holding, release = threading.Event(), threading.Event()

    def submit():
        try:
            with transaction.atomic():
                answered(members[1], "post", 25)  # appends a change for the group, committed later
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=submit)
    thread.start()
    assert holding.wait(timeout=10)
    stored = result.save()
    submit_still_open = thread.is_alive() and not release.is_set()
    release.set()
    thread.join(timeout=30)
    assert submit_still_open and stored == 1  # saved while the submit was open: nothing waited
    again = group_data.read(group.organisation_id)
    assert list(again.to_save) == [group.pk]  # the submit's commit made the saved data out of date
    post = again.data.scales[("wemwbs", "total")].values[:, engine.TIME_POINTS.index("post")]
    assert sorted(post[~np.isnan(post)].tolist()) == [22, 25]


def test_an_import_across_groups_and_a_submit_in_one_of_them_both_commit(real_stack):
    """The import locks the organisation's cohort rows (marking them stale) and then changes a second group;
    a submit in that group has changed it and waits for the cohort rows. With a lock per group's data, each
    would wait for the other (PostgreSQL would abort one); appended changes wait for nobody."""
    import threading

    from django.db import connection

    a, _ = facilitated_group()
    b, _ = facilitated_group(a.organisation)
    in_a, in_b, other_in_b = active_member(a), active_member(b), active_member(b)
    for m in (in_a, in_b, other_in_b):
        answered(m, "baseline", 20)
    recompute.recompute_all(organisation_id=a.organisation_id)
    import_holds_cohorts, submit_changed_b = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def paper_import():
        try:
            with transaction.atomic():
                answered(in_a, "post", 24)
                marking.mark_stale(a)  # holds the organisation's cohort rows until commit
                import_holds_cohorts.set()
                assert submit_changed_b.wait(timeout=10)
                time.sleep(0.3)  # the submit is now waiting for the cohort rows
                answered(in_b, "post", 26)
                marking.mark_stale(b)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    def submit():
        try:
            assert import_holds_cohorts.wait(timeout=10)
            with transaction.atomic():
                answered(other_in_b, "post", 21)
                submit_changed_b.set()
                marking.mark_stale(b)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=paper_import), threading.Thread(target=submit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert recompute.recompute_stale() > 0
    whole = CohortState.objects.get(organisation=a.organisation, dimension="organisation")
    assert whole.outcome_summaries.get(scale="total", time_point="post").n == 3
