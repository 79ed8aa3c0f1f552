"""The item-level export's person-level rule (issue 15 item 4c; docs/statistics.md §6, "Person-level export").

Ids are per person per group per download, no dates leave, and a group's answers to a questionnaire at a time
point are withheld when fewer than k people gave them: so a follow-up of one person, with the day it was
given and an id shared with another group, can no longer be matched to a named alert.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse

from outcomes.exports.items import ITEM_COLUMNS
from outcomes.models import OrganisationSecret, ResponseSource
from peersupport.models import AuditEvent, ConsentDecision, Organisation, RoleKind
from tests.factories import active_member, facilitated_group, person
from tests.outcomes.test_exports import phq9, submit

pytestmark = pytest.mark.django_db


def _download(client, lead, org) -> list[dict]:
    client.force_login(lead)
    response = client.get(reverse("outcomes:export_items_csv", args=[org.slug]))
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.fixture
def two_groups():
    """Groups A and B of five members each; one person is a member of both."""
    a, _ = facilitated_group(name="A")
    org = a.organisation
    b, _ = facilitated_group(org, name="B")
    in_a = [active_member(a) for _ in range(5)]
    in_b = [active_member(b) for _ in range(4)]
    both = active_member(b)
    both.user = in_a[0].user
    both.save()
    in_b.append(both)
    day = dt.datetime(2025, 3, 4, 10, tzinfo=dt.UTC)
    for index, membership in enumerate(in_a + in_b):
        submit(membership, "baseline", phq9(index % 4), when=day)
    return org, a, b, in_a, in_b, person(org, RoleKind.LEAD)


def test_the_same_person_has_another_id_in_another_group_and_in_another_download(client, two_groups):
    org, a, b, in_a, in_b, lead = two_groups
    first = _download(client, lead, org)
    second = _download(client, lead, org)
    ids_a = {r["participant"] for r in first if r["group_id"] == str(a.pk)}
    ids_b = {r["participant"] for r in first if r["group_id"] == str(b.pk)}
    assert len(ids_a) == len(ids_b) == 5
    assert not ids_a & ids_b  # the member of both groups cannot be joined across them
    assert all(len(pid) == 16 and int(pid, 16) >= 0 for pid in ids_a | ids_b)
    # A second download: the same rows, none of the same ids.
    assert len(second) == len(first) == 10 * 10
    assert not {r["participant"] for r in second} & (ids_a | ids_b)
    assert [{k: v for k, v in r.items() if k != "participant"} for r in second] == [
        {k: v for k, v in r.items() if k != "participant"} for r in first
    ]
    text = "".join(",".join(r.values()) for r in first)
    for membership in in_a + in_b:
        assert membership.user.email not in text and str(membership.user_id) not in {r["participant"] for r in first}
    key = OrganisationSecret.objects.get(organisation=org).pseudonym_key
    assert key not in text


def test_a_follow_up_of_one_person_is_withheld_and_no_date_leaves(client):
    group, _ = facilitated_group()
    org = group.organisation
    members = [active_member(group) for _ in range(5)]
    day = dt.datetime(2025, 3, 4, 23, 30, tzinfo=dt.UTC)
    for index, membership in enumerate(members):
        submit(membership, "baseline", phq9(index % 3), when=day)
        submit(membership, "post", phq9(1), when=day + dt.timedelta(days=60), source=ResponseSource.IMPORT)
    submit(members[0], "follow_up_3", phq9(3), when=day + dt.timedelta(days=150))  # one person: could be named
    # A member who later withdrew consent: what they gave before is still exported.
    withdrawn = members[1].user
    ConsentDecision.objects.create(
        user=withdrawn,
        consent_version=withdrawn.consent_decisions.first().consent_version,
        action=ConsentDecision.Action.WITHDRAWN,
    )
    lead = person(org, RoleKind.LEAD)
    rows = _download(client, lead, org)

    assert "submitted_date" not in ITEM_COLUMNS and "submitted_date" not in rows[0]
    assert {r["time_point"] for r in rows} == {"baseline", "post"}  # the follow-up of 1 is not there
    assert len(rows) == 5 * 2 * 10
    assert {r["source"] for r in rows} == {"online", "import"}
    # Within the group, a person's answers at both time points share one id: change can still be analysed.
    per_person = {}
    for r in rows:
        per_person.setdefault(r["participant"], set()).add(r["time_point"])
    assert len(per_person) == 5 and all(points == {"baseline", "post"} for points in per_person.values())
    assert [row["item_number"] for row in rows[:10]] == [str(n) for n in range(1, 11)]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, detail__kind="items_csv")
    assert event.detail["k"] == 5


def test_the_organisations_k_decides_what_is_withheld(client):
    """The issue's case: a group's baseline of 3 people and a follow-up of 1."""
    group, _ = facilitated_group()
    org = group.organisation
    members = [active_member(group) for _ in range(3)]
    for membership in members:
        submit(membership, "baseline", phq9(2))
    submit(members[0], "follow_up_3", phq9(1))
    lead = person(org, RoleKind.LEAD)
    assert _download(client, lead, org) == []  # k = 5: three people are too few, one far too few
    Organisation.objects.filter(pk=org.pk).update(suppression_threshold=3)
    rows = _download(client, lead, org)
    assert {r["time_point"] for r in rows} == {"baseline"} and len({r["participant"] for r in rows}) == 3
