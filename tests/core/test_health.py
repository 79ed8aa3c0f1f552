"""/health/ reports database, cache and broker; 503 names the part that is down."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    """A local port nothing listens on: bind, read the number, close."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_is_200_when_every_part_is_up(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert set(body) >= {"database", "cache", "broker"}


def test_health_is_503_naming_broker_and_cache_when_redis_is_unreachable(client, settings):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    response = client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["broker"] == "down"
    assert set(body["down"]) == {"broker", "cache"}
    assert body["database"] == "ok"
