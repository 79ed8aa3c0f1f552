"""Autosave fails soft on a phone: a failed save is tried once more, and a second failure says "not saved yet"
on the page (the answer stays ticked), never an error page. The network is made to fail in the browser."""

from __future__ import annotations

import re

import pytest

from outcomes.models import Response
from outcomes.questionnaires.lifecycle import assessments_refresh_for_member
from tests.factories import PASSWORD, active_member, facilitated_group
from tests.outcomes.test_questionnaires import plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_on_the_first_question(live_server, page):
    group, _ = facilitated_group()
    plan(group, {"baseline": (["phq9"], -1, 14)})
    membership = active_member(group, email="sam@example.org")
    assessments_refresh_for_member(membership.user)
    baseline = membership.assessments.get(time_point="baseline")
    page.goto(f"{live_server.url}/o/{group.organisation.slug}/questionnaires/{baseline.pk}/")
    page.get_by_role("textbox", name=re.compile("^Email")).fill("sam@example.org")
    page.get_by_role("textbox", name=re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_text("Questionnaire 1 of 1").wait_for()
    return baseline


def tick(page, number: int, label: str) -> None:
    page.locator("fieldset", has=page.locator("legend", has_text=re.compile(rf"^{number}\. "))).get_by_label(
        label, exact=True
    ).check()


def test_a_save_lost_once_is_sent_again_and_saved(live_server, phone):
    baseline = signed_in_on_the_first_question(live_server, phone)
    failed = []

    def drop_the_first(route):
        if not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.route(re.compile(r".*/autosave/$"), drop_the_first)
    tick(phone, 1, "Several days")
    phone.get_by_text("Saved.").wait_for()
    assert failed
    assert Response.objects.get(assessment=baseline).answers == {"q1": 1}


def test_a_save_that_fails_twice_says_not_saved_yet_and_the_answer_stays(live_server, phone):
    baseline = signed_in_on_the_first_question(live_server, phone)
    calls = []

    def server_error(route):
        calls.append(route.request.url)
        route.fulfill(status=500, body="database is locked")

    phone.route(re.compile(r".*/autosave/$"), server_error)
    tick(phone, 2, "Not at all")
    phone.get_by_text(re.compile("^Not saved yet")).wait_for()
    assert len(calls) == 2  # the first try and one retry
    fieldset = phone.locator("fieldset", has=phone.locator("legend", has_text=re.compile(r"^2\. ")))
    assert fieldset.get_by_label("Not at all", exact=True).is_checked()
    assert not Response.objects.filter(assessment=baseline).exists()
