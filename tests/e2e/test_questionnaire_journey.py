"""On a phone: open the invitation, answer two questionnaires, reload mid-way, double-tap submit, see crisis support."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from outcomes.models import Response, RiskAlert
from outcomes.questionnaires.lifecycle import assessments_advance
from tests.factories import PASSWORD, active_member, facilitated_group
from tests.outcomes.test_questionnaires import plan

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone390(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def question(page, number: int):
    """Question ``number`` as a screen reader finds it: the group named by its legend."""
    return page.get_by_role("group", name=re.compile(rf"^{number}\. "))


def choose(page, number: int, label: str) -> None:
    question(page, number).get_by_label(label, exact=True).check()


def test_a_member_answers_on_a_phone_and_a_risk_answer_brings_help(live_server, phone390):
    group, facilitator = facilitated_group()
    group.organisation.crisis_support_text = "Call the night line on 0800 555 0000."
    group.organisation.save()
    plan(group, {"baseline": (["gad7", "phq9"], -1, 14)})
    membership = active_member(group, email="robin@example.org")
    assessments_advance()
    link = re.search(r"https?://\S+/questionnaires/\d+/", mail.outbox[-1].body).group(0)
    mail.outbox.clear()

    page = phone390
    page.goto(live_server.url + re.sub(r"^https?://[^/]+", "", link))
    page.get_by_role("textbox", name=re.compile("^Email")).fill("robin@example.org")
    page.get_by_role("textbox", name=re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.get_by_text("Questionnaire 1 of 2").wait_for()
    for n in range(1, 8):
        choose(page, n, "Several days")
    page.get_by_role("button", name="Submit and continue").click()
    page.get_by_text("Questionnaire 2 of 2").wait_for()
    for n in range(1, 5):
        # As a person does: the next tick after the last one was saved (so the reload below finds all four).
        with page.expect_response(lambda r: "/autosave/" in r.url and r.request.method == "POST") as saved:
            choose(page, n, "Not at all")
        assert saved.value.ok
    page.get_by_text("Saved.").wait_for()
    page.reload()
    page.get_by_text("Questionnaire 2 of 2").wait_for()
    assert question(page, 4).get_by_label("Not at all", exact=True).is_checked()
    for n in range(5, 9):
        choose(page, n, "Not at all")
    choose(page, 9, "Several days")
    submit = page.get_by_role("button", name="Submit", exact=True)
    submit.dblclick()

    page.get_by_role("heading", name="You are not alone").wait_for()
    assert page.get_by_text("Call the night line on 0800 555 0000.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    assert Response.objects.filter(assessment__membership=membership, instrument_code="phq9").count() == 1
    assert RiskAlert.objects.count() == 1
    alerts = [m for m in mail.outbox if "Safeguarding" in m.subject]
    assert [m.to for m in alerts] == [[facilitator.email]]  # one e-mail per facilitator and lead, once

    page.get_by_role("link", name="Continue").click()
    page.get_by_role("heading", name="Thank you").wait_for()


def test_each_question_is_a_group_named_by_its_number_and_wording(live_server, phone390):
    group, _ = facilitated_group()
    plan(group, {"baseline": (["gad7"], -1, 14)})
    membership = active_member(group, email="sky@example.org")
    assessments_advance()
    page = phone390
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("textbox", name=re.compile("^Email")).fill("sky@example.org")
    page.get_by_role("textbox", name=re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    assessment = membership.assessments.get()
    page.goto(f"{live_server.url}/o/{group.organisation.slug}/questionnaires/{assessment.pk}/gad7/")
    names = [
        page.get_by_role("group").nth(i).evaluate("e => e.querySelector(':scope > legend')?.textContent.trim()")
        for i in range(page.get_by_role("group").count())
    ]
    assert len(names) == 7 and all(name and name.startswith(f"{n}. ") for n, name in enumerate(names, start=1))
    for n in range(1, 8):
        assert question(page, n).get_by_role("radio").count() == 4  # each group holds its own answers
