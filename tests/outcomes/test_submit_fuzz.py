"""Random, hostile answer sets sent to the submit and autosave views never cause a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.models import Response
from outcomes.questionnaires.lifecycle import assessments_advance
from tests.factories import planned_member

pytestmark = pytest.mark.django_db

values = st.one_of(
    st.none(),
    st.integers(min_value=-10, max_value=10).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
    st.sampled_from(["", " ", "1.5", "1e3", "0x1", "３", "NaN", "-0", "true", "<script>"]),
)
keys = st.one_of(st.sampled_from([f"q{i}" for i in range(0, 12)]), st.text(max_size=8))
answer_sets = st.dictionaries(keys, values, max_size=14)


@pytest.fixture
def open_baseline(on_commit):
    group, _, membership = planned_member()
    with on_commit():
        assessments_advance()
    return group, membership, membership.assessments.get(time_point="baseline")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=answer_sets, action=st.sampled_from(["submit", "save", "", "bogus"]))
def test_random_answers_never_cause_a_server_error(client, open_baseline, answers, action):
    group, membership, baseline = open_baseline
    client.force_login(membership.user)
    data = {k: v for k, v in answers.items() if v is not None and k}
    url = reverse("outcomes:instrument", args=[group.organisation.slug, baseline.pk, "phq9"])
    response = client.post(url, {**data, "action": action})
    assert response.status_code in (200, 302, 400)
    autosave = reverse("outcomes:autosave", args=[group.organisation.slug, baseline.pk, "phq9"])
    assert client.post(autosave, data).status_code in (200, 400)
    stored = Response.objects.filter(assessment=baseline, submitted_at__isnull=False).first()
    if stored is not None:
        assert all(0 <= v <= 3 for v in stored.answers.values() if v is not None)
