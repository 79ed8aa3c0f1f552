"""Importing paper and legacy answers: validated row by row, all-or-nothing, scored as online, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from outcomes.models import Response
from peersupport.models import ConsentVersion
from peersupport.selectors import consent_active_user_ids, consent_is_active
from peersupport.services import consent_give, consent_withdraw
from tests.factories import active_member, facilitated_group

pytestmark = pytest.mark.django_db

HEADER = "participant_email,group,time_point,instrument,item,value,completed_date\n"


@pytest.fixture
def group_and_member():
    group, _ = facilitated_group(name="Tuesday recovery group")
    return group, active_member(group, email="sam@example.org")


def phq9_rows(email="sam@example.org", group="Tuesday recovery group", value="1", date="2026-03-03"):
    return "".join(f"{email},{group},baseline,phq9,{n},{value},{date}\n" for n in range(1, 10))


def run(tmp_path, org, text):
    path = tmp_path / "answers.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_responses", str(path), "--org", org.slug)


def test_a_valid_file_is_imported_and_scored_as_if_answered_online(tmp_path, group_and_member):
    group, membership = group_and_member
    run(tmp_path, group.organisation, HEADER + phq9_rows())
    response = Response.objects.get()
    assert response.assessment.membership == membership
    assert response.source == "import"
    assert response.total == 9.0
    assert response.scores["bands"]
    assert str(response.submitted_at.date()) == "2026-03-03"


def test_importing_the_same_file_twice_changes_nothing(tmp_path, group_and_member):
    group, _ = group_and_member
    run(tmp_path, group.organisation, HEADER + phq9_rows())
    run(tmp_path, group.organisation, HEADER + phq9_rows())
    assert Response.objects.count() == 1


def test_one_bad_row_rejects_the_whole_file_and_every_bad_row_is_reported(tmp_path, group_and_member, capsys):
    group, _ = group_and_member
    rows = phq9_rows()
    rows += "sam@example.org,Tuesday recovery group,post,phq9,1,7,2026-05-01\n"
    rows += "nobody@example.org,Tuesday recovery group,post,phq9,1,1,2026-05-01\n"
    rows += "sam@example.org,No such group,post,phq9,1,1,2026-05-01\n"
    rows += "sam@example.org,Tuesday recovery group,later,phq9,1,1,2026-05-01\n"
    rows += "sam@example.org,Tuesday recovery group,post,nosuch,1,1,2026-05-01\n"
    rows += "sam@example.org,Tuesday recovery group,post,phq9,1,1,31/05/2026\n"
    with pytest.raises(CommandError, match="Nothing was imported"):
        run(tmp_path, group.organisation, HEADER + rows)
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "1 row: phq9 item 1: value “7” is not allowed (allowed: 0–3, or empty) (line 11)",
        "1 row: participant “nobody@example.org” is not a member of “Tuesday recovery group” (import the roster "
        "first) (line 12)",
        "1 row: group “No such group” not found (valid: Tuesday recovery group) (line 13)",
        "1 row: time_point “later” not found (valid: baseline, mid, post, follow_up_3, follow_up_6, follow_up_12) "
        "(line 14)",
        err[4],
        "1 row: completed_date “31/05/2026” must be a date like 2026-03-31 (line 16)",
    ]
    assert err[4].startswith("1 row: instrument “nosuch” not found (valid: ") and "phq9" in err[4]
    assert Response.objects.count() == 0


def test_an_out_of_range_value_rejects_the_file(tmp_path, group_and_member, capsys):
    group, _ = group_and_member
    with pytest.raises(CommandError):
        run(tmp_path, group.organisation, HEADER + phq9_rows(value="7"))
    assert "9 rows: phq9 item 1: value “7” is not allowed (allowed: 0–3, or empty) (line 2)" not in (
        err := capsys.readouterr().err
    )
    assert "1 row: phq9 item 9: value “7” is not allowed (allowed: 0–3, or empty) (line 10)" in err
    assert Response.objects.count() == 0


def test_a_member_of_another_organisation_cannot_be_imported_into_this_one(tmp_path, group_and_member, capsys):
    group, _ = group_and_member
    other_group, _ = facilitated_group(name="Elsewhere")
    active_member(other_group, email="outsider@example.org")
    with pytest.raises(CommandError):
        run(tmp_path, group.organisation, HEADER + phq9_rows(email="outsider@example.org", group="Elsewhere"))
    assert "group “Elsewhere” not found" in capsys.readouterr().err


def test_a_file_without_the_columns_is_refused(tmp_path, group_and_member):
    group, _ = group_and_member
    with pytest.raises(CommandError):
        run(tmp_path, group.organisation, "email,score\nsam@example.org,3\n")


def test_consent_is_checked_for_everyone_at_once_as_for_each(group_and_member):
    """The import reads everyone's consent in two queries; it must agree with the one-person check."""
    group, membership = group_and_member
    org = group.organisation
    withdrew = active_member(group).user
    consent_withdraw(user=withdrew, organisation=org)
    rejoined = active_member(group).user
    consent_withdraw(user=rejoined, organisation=org)
    consent_give(user=rejoined, version=ConsentVersion.objects.get(organisation=org))
    users = [membership.user, withdrew, rejoined, active_member(facilitated_group()[0]).user]
    expected = {user.pk for user in users if consent_is_active(user=user, organisation=org)}
    assert consent_active_user_ids(org) == expected == {membership.user.pk, rejoined.pk}


def test_a_row_that_contradicts_what_is_stored_rejects_the_file_and_keeps_nothing_of_it(
    tmp_path, group_and_member, capsys
):
    group, _ = group_and_member
    active_member(group, email="kim@example.org")
    run(tmp_path, group.organisation, HEADER + phq9_rows())
    # Kim's answers come first in the file and are fine; Sam's baseline is stored with other answers.
    with pytest.raises(CommandError, match="Nothing was imported: 1 of 18 rows were rejected"):
        run(tmp_path, group.organisation, HEADER + phq9_rows(email="kim@example.org") + phq9_rows(value="2"))
    assert "phq9 at baseline is already stored with other answers (line 11)" in capsys.readouterr().err
    assert Response.objects.count() == 1  # Kim's response, checked and stored first, was rolled back
