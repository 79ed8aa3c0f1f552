"""Failed sign-ins are limited per address and client with a growing wait, and per client across addresses;
a stranger's failures never lock the owner out of their own device; lockouts are audited; the client behind
trusted proxies is the address the outermost proxy saw, and X-Forwarded-For is ignored without one."""

from __future__ import annotations

import time
import types

import pytest
from allauth.core.internal import ratelimit
from django.urls import reverse

from peersupport.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OWNER, STRANGER = "198.51.100.7", "203.0.113.9"
REFUSED = "Too many failed login attempts"


def sign_in(client, email, password, **meta):
    """(signed in?, refused by the limit?)"""
    client.logout()
    response = client.post(reverse("account_login"), {"login": email, "password": password}, **meta)
    refused = response.status_code == 429 or REFUSED in response.content.decode()
    return response.status_code == 302 and "_auth_user_id" in client.session, refused


@pytest.fixture
def clock(monkeypatch):
    """The rate limits' clock, moved by hand (the windows are minutes to a day long)."""
    now = [time.time()]
    fake = types.SimpleNamespace(time=lambda: now[0], monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr(ratelimit, "time", fake)

    def advance(minutes: float) -> None:
        now[0] += minutes * 60

    return advance


def test_a_strangers_failures_never_lock_the_owner_out_on_their_own_device(client):
    UserFactory(email="amy@example.org")
    stranger = [sign_in(client, "amy@example.org", f"guess-{i}", REMOTE_ADDR=STRANGER) for i in range(8)]
    assert [refused for _, refused in stranger] == [False] * 5 + [True] * 3
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=STRANGER) == (False, True)
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=OWNER) == (True, False)


def test_failed_sign_ins_wait_longer_each_time_five_minutes_then_an_hour(client, clock):
    UserFactory(email="amy@example.org")
    tries = [sign_in(client, "amy@example.org", f"a-{i}", REMOTE_ADDR=STRANGER)[1] for i in range(6)]
    assert tries == [False] * 5 + [True]
    clock(6)  # the five-minute wait is over: five more tries
    tries = [sign_in(client, "amy@example.org", f"b-{i}", REMOTE_ADDR=STRANGER)[1] for i in range(6)]
    assert tries == [False] * 5 + [True]
    clock(6)  # ten failures in the hour: five minutes are no longer enough
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=STRANGER) == (False, True)
    clock(61)
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=STRANGER) == (True, False)


def test_one_client_guessing_many_addresses_is_limited_and_their_owners_are_not(client):
    for i in range(22):
        UserFactory(email=f"person{i}@example.org")
    refused = [sign_in(client, f"person{i}@example.org", "guess", REMOTE_ADDR=STRANGER)[1] for i in range(22)]
    assert refused == [False] * 20 + [True] * 2
    assert sign_in(client, "person21@example.org", PASSWORD, REMOTE_ADDR=OWNER) == (True, False)


def test_a_lockout_is_audited_once_with_the_address_tried_and_the_client(client):
    UserFactory(email="amy@example.org")
    for i in range(9):
        sign_in(client, "amy@example.org", f"guess-{i}", REMOTE_ADDR=STRANGER)
    lockout = AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_LOCKED_OUT)
    assert lockout.detail == {"attempted": "amy@example.org"}
    assert lockout.ip_address == STRANGER and lockout.actor is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED).count() == 5


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored_so_a_forged_header_dodges_nothing(client):
    UserFactory(email="amy@example.org")
    refused = [
        sign_in(client, "amy@example.org", "guess", REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")[1]
        for i in range(7)
    ]
    assert refused == [False] * 5 + [True] * 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SIGN_IN_FAILED, ip_address=STRANGER).count() == 5


def test_behind_a_trusted_proxy_each_client_is_the_address_the_proxy_saw(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    UserFactory(email="amy@example.org")
    # The client may prepend what it likes; the proxy's own entry (the last) is the one used.
    refused = [
        sign_in(client, "amy@example.org", "guess", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}, {STRANGER}")[
            1
        ]
        for i in range(6)
    ]
    assert refused == [False] * 5 + [True]
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=OWNER) == (True, False)
    assert AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN).ip_address == OWNER
    assert AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN_LOCKED_OUT).ip_address == STRANGER


def test_a_request_that_skipped_a_trusted_proxy_is_counted_by_its_own_address_not_a_server_error(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    UserFactory(email="amy@example.org")
    assert sign_in(client, "amy@example.org", PASSWORD, REMOTE_ADDR=OWNER, HTTP_X_FORWARDED_FOR="192.0.2.1") == (
        True,
        False,
    )
    assert AuditEvent.objects.get(action=AuditEvent.Action.SIGN_IN).ip_address == OWNER
