"""A facilitator builds a course group and its schedule; a member joins by code; the register is taken on a phone."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from groups.models import Membership, MembershipStatus, SupportGroup
from groups.services import curricula as curriculum_services
from peersupport.models import RoleKind
from sessions.models import Attendance, AttendanceStatus, GroupSession
from tests.factories import (
    PASSWORD,
    ConsentVersionFactory,
    OrganisationFactory,
    consenting_member,
    person,
    totp_code,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GROUP_ZONE = "Europe/London"
MEMBER_ZONE = "Pacific/Auckland"  # 11 to 13 hours ahead of London: an evening session is the next morning there.
GROUP_NAME = "Owning my story, Thursday evenings"


@pytest.fixture
def open_page(browser):
    """Open a page in a fresh browser context (its own cookies); every context is closed at the end."""
    contexts = []

    def open_page(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.console_errors = errors
        return page

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, base_url: str, email: str, *, second_factor: bool = False) -> None:
    """Sign in; staff (who have an authenticator app, tests.factories.TOTP_SECRET) type its code next."""
    page.goto(base_url + "/accounts/login/")
    page.get_by_role("textbox", name=re.compile("^Email")).fill(email)
    page.get_by_role("textbox", name=re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if second_factor:
        page.get_by_role("textbox", name=re.compile("^Code")).fill(totp_code())
        page.get_by_role("button", name="Sign In").click()
    page.get_by_role("heading", name=re.compile("^Hello, ")).wait_for()


def test_a_facilitator_schedules_a_course_a_member_joins_by_code_and_is_marked_present_on_a_phone(
    live_server, open_page
):
    org = OrganisationFactory(name="Harbour Peer Support", time_zone=GROUP_ZONE)
    ConsentVersionFactory(organisation=org, version=1)
    curriculum_services.starter_curricula_load(organisation=org)
    curriculum = org.curricula.get(title="Owning my story")
    assert curriculum.units.count() >= 8
    facilitator = person(org, RoleKind.FACILITATOR, display_name="Alex Rivers")
    member = consenting_member(org, display_name="Robin Ash", time_zone=MEMBER_ZONE)

    # The first session eight days ago and the second yesterday (both started), six more from next week.
    today = dt.datetime.now(ZoneInfo(GROUP_ZONE)).date()
    first_date = today - dt.timedelta(days=8)
    weekday = first_date.strftime("%A")

    # 1. The facilitator signs in on a phone and creates a structured group from the curriculum.
    staff = open_page(360, 780)
    sign_in(staff, live_server.url, facilitator.email, second_factor=True)
    staff.get_by_role("link", name="Facilitate groups").click()
    staff.get_by_role("heading", name=re.compile("^Facilitate groups")).wait_for()
    staff.get_by_role("link", name="Create a group", exact=True).click()
    staff.get_by_role("heading", name=re.compile("^Create a group")).wait_for()
    staff.get_by_label("Name").fill(GROUP_NAME)
    staff.get_by_label("Format").select_option(label="Structured (a course of classes)")
    staff.get_by_label("Curriculum").select_option(label=str(curriculum))
    staff.get_by_label("Facilitation").select_option(label="Peer-led (1–3 peer facilitators)")
    staff.get_by_label("Delivery").select_option(label="Online")
    staff.get_by_label("Online meeting link").fill("https://meet.example.org/harbour-course")
    staff.get_by_label("Places").fill("10")
    staff.get_by_role("button", name="Create the group").click()

    staff.get_by_role("heading", name=re.compile(f"^{re.escape(GROUP_NAME)}")).wait_for()
    staff.get_by_text(f"Group “{GROUP_NAME}” created as a draft.").wait_for()
    group = SupportGroup.objects.get(organisation=org, name=GROUP_NAME)
    assert group.curriculum == curriculum
    assert list(group.facilitators.all()) == [facilitator]

    # Open it for recruiting, so that the code lets members in.
    staff.get_by_label("Change the status to").select_option(label="Recruiting")
    staff.get_by_role("button", name="Change status").click()
    staff.get_by_text("The group is now Recruiting.").wait_for()

    # The code, as a facilitator would read it out.
    code = staff.get_by_role("region", name="How members join").locator("code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{8}", code), code

    # 2. Eight weekly sessions from the schedule generation form.
    staff.get_by_role("link", name="Schedule, registers and session logs").click()
    staff.get_by_role("heading", name=re.compile("^Schedule")).wait_for()
    staff.get_by_role("link", name="Add sessions").click()
    staff.get_by_role("heading", name=re.compile("^Add sessions")).wait_for()
    staff.get_by_label("How often").select_option(label="Every week")
    staff.get_by_role("checkbox", name=weekday, exact=True).check()
    staff.get_by_label("First possible date").fill(first_date.isoformat())
    staff.get_by_label("Start time").fill("18:00")
    staff.get_by_label("Length (minutes)").fill("90")
    staff.get_by_label("Number of sessions").fill("8")
    staff.get_by_role("button", name="Add sessions").click()
    staff.get_by_text("8 sessions added to the schedule.").wait_for()

    sessions = list(GroupSession.objects.filter(group=group).order_by("sequence").select_related("unit"))
    assert [s.sequence for s in sessions] == list(range(1, 9))
    assert [s.unit.position for s in sessions] == list(range(1, 9))
    local_starts = [s.starts_at.astimezone(ZoneInfo(GROUP_ZONE)) for s in sessions]
    assert [d.date() for d in local_starts] == [first_date + dt.timedelta(weeks=n) for n in range(8)]
    assert {(d.hour, d.minute) for d in local_starts} == {(18, 0)}
    assert staff.get_by_role("link", name="Register", exact=True).count() == 8

    # 3. The member signs in in another browser, joins with the code and sees the group and its sessions.
    visitor = open_page(1280, 900)
    sign_in(visitor, live_server.url, member.email)
    visitor.get_by_role("link", name="My groups", exact=True).click()
    visitor.get_by_role("heading", name=re.compile("^My groups")).wait_for()
    visitor.get_by_label("Enrolment code").fill(code.lower())
    visitor.get_by_role("button", name="Join", exact=True).click()
    visitor.get_by_text(f"You are in {GROUP_NAME}. Welcome!").wait_for()

    membership = Membership.objects.get(group=group, user=member)
    assert membership.status == MembershipStatus.ACTIVE
    your_groups = visitor.get_by_role("region", name="Your groups")
    mine = your_groups.get_by_role("listitem").filter(has=visitor.get_by_role("strong"))
    assert mine.get_by_role("strong").all_inner_texts() == [GROUP_NAME]
    assert mine.get_by_text("Active", exact=True).is_visible()
    assert mine.get_by_role("link", name=f"Leave {GROUP_NAME}").is_visible()

    upcoming = visitor.get_by_role("region", name="Your next sessions")
    rows = upcoming.get_by_role("listitem")
    assert rows.count() == 5  # the dashboard shows the next five of the six to come
    next_session = sessions[2]
    there = next_session.starts_at.astimezone(ZoneInfo(MEMBER_ZONE))
    until = next_session.ends_at.astimezone(ZoneInfo(MEMBER_ZONE))
    when = f"{there:%A} {there.day} {there:%B}, {there:%H:%M}–{until:%H:%M}"
    assert rows.first.get_by_text(when).is_visible(), rows.first.inner_text()
    assert rows.first.get_by_text(f"{GROUP_NAME}: {next_session.unit.title}").is_visible()
    assert upcoming.get_by_text(f"Times are in your time zone, {MEMBER_ZONE}").is_visible()
    assert visitor.console_errors == [], visitor.console_errors

    # 4. On the phone, the facilitator opens the register of the session that started yesterday.
    staff.get_by_role("link", name="Peer Support").click()
    staff.get_by_role("link", name="Facilitate groups").click()
    taken = sessions[1]
    taken_day = taken.starts_at.astimezone(ZoneInfo(GROUP_ZONE))
    staff.get_by_role("link", name=f"Register for {taken_day:%a} {taken_day.day} {taken_day:%b}").click()
    staff.get_by_role("heading", name=re.compile("^Register")).wait_for()
    staff.get_by_text(taken.unit.title).wait_for()

    robin = staff.get_by_role("group", name="Robin Ash")
    # The radios are Bootstrap toggle buttons: the visible control is the label, so tap that.
    robin.get_by_text("Present", exact=True).click()
    assert robin.get_by_role("radio", name="Present").is_checked()
    staff.get_by_role("button", name="Save register").click()
    staff.get_by_text("Register saved for 1 member.").wait_for()

    attendance = Attendance.objects.get(session=taken, membership=membership)
    assert attendance.status == AttendanceStatus.PRESENT
    assert attendance.recorded_by == facilitator
    assert staff.get_by_role("group", name="Robin Ash").get_by_role("radio", name="Present").is_checked()
    # Nothing wider than the phone: no sideways scrolling at 360 px.
    assert staff.evaluate("document.documentElement.scrollWidth") <= 360
    assert staff.console_errors == [], staff.console_errors
