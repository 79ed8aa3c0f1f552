"""On the real stack: a task goes through Redis to a real Celery worker and back."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse

from peersupport.celery import app as celery_app
from peersupport.tasks import ping, send_email

pytestmark = [pytest.mark.integration, pytest.mark.real_worker]


@pytest.fixture
def worker(real_stack):
    celery_app.conf.task_always_eager = False
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield


def test_a_task_round_trips_through_redis_to_a_real_worker(worker):
    assert ping.delay().get(timeout=20) == "pong"


@pytest.mark.django_db
def test_an_email_is_sent_by_the_worker(worker):
    result = send_email.delay({"subject": "Via Redis", "body": "b", "to": ["w@example.org"], "html": None})
    result.get(timeout=20)
    assert [m.subject for m in mail.outbox] == ["Via Redis"]


@pytest.mark.django_db
def test_health_is_200_with_postgresql_and_redis_up(client, real_stack):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "down": [], "database": "ok", "cache": "ok", "broker": "ok"}
