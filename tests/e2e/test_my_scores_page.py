"""My scores on a phone: a member in two groups sees one labelled chart per group; nothing scrolls sideways."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import axe_findings
from tests.factories import PASSWORD
from tests.outcomes.test_my_scores import member_in_two_groups

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_my_scores_fits_360_and_390_px_with_one_chart_per_group(live_server, axe_phone):
    user, tuesday, _friday = member_in_two_groups()
    page = axe_phone
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("textbox", name=re.compile("^Email")).fill(user.email)
    page.get_by_role("textbox", name=re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name=re.compile("^Hello, ")).wait_for()
    page.goto(f"{live_server.url}/o/{tuesday.organisation.slug}/my-scores/")

    for width in (360, 390):
        page.set_viewport_size({"width": width, "height": 800})
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"scrolls sideways at {width} px: {widths}"
        assert axe_findings(page) == []
    titles = page.locator("svg.score-chart title")
    assert titles.count() == 2
    assert "Tuesday group" in titles.nth(0).text_content() and "Friday group" in titles.nth(1).text_content()
    assert page.console_errors == []
