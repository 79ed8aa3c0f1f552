"""The outbox: a message exists exactly when its cause committed, is delivered once, and waits out an outage."""

from __future__ import annotations

import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction

from peersupport import outbox
from peersupport.mail import queue_email
from peersupport.models import OutboxMessage, OutboxStatus
from peersupport.scheduler import Scheduler
from tests.conftest import broker_unreachable

pytestmark = pytest.mark.django_db(transaction=True)

DELIVERED: list[str] = []


@outbox.handler("test_note")
def _note(message: OutboxMessage) -> None:
    """A handler of the tests' own: takes a while, and says each time it ran."""
    time.sleep(message.payload.get("sleep", 0))
    DELIVERED.append(message.payload["text"])


def test_a_queued_email_is_an_outbox_row_delivered_after_commit():
    with transaction.atomic():
        queue_email(subject="Hello", body="Body", to=["a@example.org"], about=("invitation", 7))
        row = OutboxMessage.objects.get()
        assert row.status == OutboxStatus.PENDING and mail.outbox == []  # nothing leaves before commit
    row.refresh_from_db()
    assert row.status == OutboxStatus.DELIVERED and row.attempts == 1
    assert (row.subject_type, row.subject_id, row.recipient) == ("invitation", "7", "a@example.org")
    assert [m.subject for m in mail.outbox] == ["Hello"]


def test_a_rolled_back_change_leaves_no_message():
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(subject="Hello", body="Body", to=["a@example.org"])
        raise RuntimeError("the write failed")
    assert not OutboxMessage.objects.exists()
    assert mail.outbox == []


def test_a_message_with_the_same_dedupe_key_is_recorded_once():
    assert outbox.record("test_note", {"text": "one"}, dedupe_key="note:1") is not None
    assert outbox.record("test_note", {"text": "again"}, dedupe_key="note:1") is None
    assert OutboxMessage.objects.filter(dedupe_key="note:1").count() == 1


def test_a_message_of_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="No outbox handler for 'fax'"):
        outbox.record("fax", {})
    assert not OutboxMessage.objects.exists()


def test_a_delivered_message_is_never_delivered_again():
    DELIVERED.clear()
    with broker_unreachable():  # recorded but not delivered: the broker is down
        message = outbox.record("test_note", {"text": "once"})
    assert DELIVERED == []
    assert outbox.deliver(message.pk) is True
    assert outbox.deliver(message.pk) is False
    assert outbox.deliver_due() == 0
    assert DELIVERED == ["once"]


def test_emails_queued_while_the_broker_is_down_are_sent_by_the_periodic_job():
    with broker_unreachable():
        queue_email(subject="Your place", body="A place is free.", to=["m@example.org"])
    assert mail.outbox == []
    assert outbox.pending_count() == 1
    assert outbox.deliver_due() == 1
    assert [m.to for m in mail.outbox] == [["m@example.org"]]
    assert outbox.pending_count() == 0


def test_the_in_process_scheduler_runs_the_periodic_jobs_without_a_broker():
    DELIVERED.clear()
    with broker_unreachable():
        outbox.record("test_note", {"text": "from the schedule"})
    schedule = {"deliver": {"task": "peersupport.tasks.deliver_outbox", "schedule": 0.2}}
    scheduler = Scheduler(schedule, first_run_after=0, tick=0.05)
    scheduler.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (DELIVERED == [] or scheduler.runs["deliver"] < 3):
            time.sleep(0.05)
    finally:
        scheduler.stop()
        scheduler.join(timeout=5)
    assert DELIVERED == ["from the schedule"]
    assert scheduler.runs["deliver"] >= 3  # it keeps running the job at its interval, not once
    assert OutboxMessage.objects.get().status == OutboxStatus.DELIVERED


@pytest.mark.integration
def test_two_workers_delivering_one_message_at_once_deliver_it_once(real_stack):
    """On PostgreSQL the row is locked while its handler runs; the other worker skips it."""
    DELIVERED.clear()
    with broker_unreachable():
        message = outbox.record("test_note", {"text": "alert", "sleep": 0.5})
    results: list[bool] = []

    def worker():
        try:
            results.append(outbox.deliver(message.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert DELIVERED == ["alert"]
