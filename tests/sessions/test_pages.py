"""Every sessions page: 200, labelled, no inline code (strict CSP), and the partials render."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from peersupport.models import RoleKind
from tests.factories import person

from .conftest import session_in

pytestmark = pytest.mark.django_db


def assert_clean(html: str, name: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {name}"
    assert not re.search(r"<style", html), f"inline style on {name}"
    assert not re.search(r'\sstyle="', html), f"style attribute on {name}"
    assert not re.search(r'(src|href)="(https?:)?//', html.replace('href="https://meet.example.org', "")), name
    # Every visible input has a label.
    for input_id in re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
        assert f'for="{input_id}"' in html, f"input {input_id} without a label on {name}"


def test_every_sessions_page_renders_cleanly(client, world):
    session = session_in(world.group, starts_in=dt.timedelta(minutes=10))
    slug = world.group.organisation.slug
    client.force_login(world.facilitator)
    for name in ["schedule", "generate", "contacts"]:
        response = client.get(reverse(f"sessions:{name}", args=[slug, world.group.pk]))
        assert response.status_code == 200, name
        assert_clean(response.content.decode(), name)
    for name in ["edit", "cancel", "register", "log"]:
        response = client.get(reverse(f"sessions:{name}", args=[slug, session.pk]))
        assert response.status_code == 200, name
        assert_clean(response.content.decode(), name)
    client.force_login(person(world.group.organisation, RoleKind.LEAD))
    response = client.get(reverse("sessions:fidelity_items", args=[slug]))
    assert_clean(response.content.decode(), "fidelity_items")
    client.force_login(world.active[0])
    for url in [reverse("sessions:member_upcoming", args=[slug]), reverse("sessions:calendar_settings")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_clean(response.content.decode(), url)


def test_the_dashboard_partials_render_for_each_role(world):
    session_in(world.group, starts_in=dt.timedelta(minutes=10))
    session_in(world.group, starts_in=dt.timedelta(days=-7))
    request = RequestFactory().get("/")
    org = world.group.organisation

    def render(user, source, **context):
        request.user = user
        return Template("{% load sessions_tags %}" + source).render(Context({"request": request, **context}))

    member_html = render(world.active[0], "{% member_upcoming_sessions organisation %}", organisation=org)
    assert world.group.name in member_html and "Join online now" in member_html
    facilitator_html = render(world.facilitator, "{% facilitator_sessions organisation %}", organisation=org)
    assert world.group.name in facilitator_html and "Register for" in facilitator_html
    group_html = render(world.facilitator, "{% group_sessions group %}", group=world.group)
    assert "Schedule, registers and session logs" in group_html
    assert "Schedule, registers and session logs" not in render(
        world.active[0], "{% group_sessions group %}", group=world.group
    )
