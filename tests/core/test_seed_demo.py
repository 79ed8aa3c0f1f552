"""`seed_demo` builds two organisations once; running it again changes nothing.

The tests run over the shared demo (``demo_db``, tests/conftest.py): it is what `seed_demo` leaves. The
idempotency test runs the command once more over it; it is the suite's one test of running it twice.
"""

from __future__ import annotations

import io
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from peersupport import demo
from peersupport.models import Organisation, RoleKind

pytestmark = pytest.mark.django_db


# Bookkeeping of the evaluation's recomputes (each group's saved data and the changes since): how many rows they
# hold depends on when recomputes last ran, not on what the demo created.
RECOMPUTE_BOOKKEEPING = {"outcomes.GroupData", "outcomes.GroupDataChange"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.label not in RECOMPUTE_BOOKKEEPING
    }


def test_seed_demo_twice_leaves_identical_row_counts(demo_db):
    first = row_counts()  # after the first run (the shared demo)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert row_counts() == first
    assert Organisation.objects.count() == 2
    for org in Organisation.objects.all():
        kinds = list(org.roles.values_list("kind", flat=True))
        assert kinds.count(RoleKind.LEAD) == 1
        assert kinds.count(RoleKind.FACILITATOR) == 2
        assert kinds.count(RoleKind.MEMBER) == demo.MEMBERS_PER_ORGANISATION
    printed = out.getvalue()
    assert demo.DEMO_PASSWORD in printed
    assert demo.DEMO_TOTP_SECRET in printed
    for _, email in demo.demo_logins():
        assert email in printed


def test_the_printed_demo_logins_work(client, demo_db):
    # What seed_demo prints is demo.demo_logins(), the password and the setup key (checked above).
    step = int(time.time()) // 30
    for _, email in demo.demo_logins():
        response = client.post(reverse("account_login"), {"login": email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, email
        if not email.startswith("member"):
            # Staff roles: the code of the printed setup key, as an authenticator app shows it.
            assert response.url == reverse("mfa_authenticate"), email
            code = format_hotp_value(hotp_value(demo.DEMO_TOTP_SECRET, step))
            response = client.post(reverse("mfa_authenticate"), {"code": code})
        assert response.url == reverse("home"), email
        client.logout()
    # Signed out, each organisation's public page lists its open groups, not the finished course.
    for slug in ("northbridge", "riverside"):
        page = client.get(reverse("groups:public", args=[slug])).content.decode()
        assert "Thursday evening online circle" in page and "Ask to join" in page
        assert "spring course" not in page and "@" not in page.split("<main", 1)[1]


def test_a_demo_member_sees_their_dashboard_and_not_the_other_organisation(client, demo_db):
    client.post(reverse("account_login"), {"login": "member01@northbridge.example", "password": demo.DEMO_PASSWORD})
    assert client.get(reverse("member_dashboard", args=["northbridge"])).status_code == 200
    assert client.get(reverse("member_dashboard", args=["riverside"])).status_code == 404
