"""The lead's evaluation page on the demo data, at 1280 and 360 px: no sideways scroll, chart labels inside
their charts, change tables that fit on a desktop, scrolling regions reachable by keyboard, axe clean."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from peersupport.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET
from tests.e2e.conftest import axe_findings
from tests.factories import totp_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CLIPPED_LABELS = """() => [...document.querySelectorAll('svg.score-chart')].flatMap(svg => {
  const width = svg.viewBox.baseVal.width, height = svg.viewBox.baseVal.height;
  return [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBBox();
    return b.x < 0 || b.y < 0 || b.x + b.width > width + 0.5 || b.y + b.height > height + 0.5;
  }).map(t => t.textContent);
})"""

REGIONS = """() => [...document.querySelectorAll('.table-responsive')].map(r => ({
  label: r.getAttribute('aria-label'), role: r.getAttribute('role'), tabindex: r.getAttribute('tabindex'),
  scrolls: r.scrollWidth > r.clientWidth, change: r.getAttribute('aria-label').includes('change')
}))"""


def test_the_demo_evaluation_page_reads_well_at_1280_and_360_px(live_server, axe_phone):
    call_command("seed_demo", stdout=io.StringIO())
    page = axe_phone
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("textbox", name=re.compile("^Email")).fill("lead@northbridge.example")
    page.get_by_role("textbox", name=re.compile("^Password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    # Staff have a second factor: the demo's authenticator code (README, "Demo logins").
    page.get_by_role("textbox", name=re.compile("^Code")).fill(totp_code(DEMO_TOTP_SECRET))
    page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name=re.compile("^Hello, ")).wait_for()
    page.goto(live_server.url + "/o/northbridge/evaluation/")
    page.get_by_role("heading", name="How these are computed").wait_for()
    assert page.locator("svg.score-chart").count() > 0

    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert sizes[0] <= sizes[1], f"the page scrolls sideways at {width} px: {sizes}"
        assert page.evaluate(CLIPPED_LABELS) == [], f"chart labels cut off at {width} px"
        regions = page.evaluate(REGIONS)
        assert regions and all(r["role"] == "region" and r["tabindex"] == "0" and r["label"] for r in regions)
        if width == 1280:
            assert not [r["label"] for r in regions if r["change"] and r["scrolls"]], "a change table scrolls"
        assert axe_findings(page) == [], f"at {width} px"

    # At 360 px a change table scrolls inside its region, and its first column stays in view.
    region = page.locator(".table-responsive", has=page.locator("th", has_text="→")).first
    region.focus()  # reachable from the keyboard
    assert region.evaluate("r => r.scrollWidth > r.clientWidth"), "nothing to scroll: widen the test's table"
    region.evaluate("r => { r.scrollLeft = r.scrollWidth; }")
    key = region.locator("tbody th").first
    box, frame = key.bounding_box(), region.bounding_box()
    assert box["x"] >= frame["x"] - 1, "the row's label scrolled out of view"
    assert page.console_errors == []
