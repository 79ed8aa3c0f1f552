"""Every organisation-scoped page, for every role, on another organisation's objects: never its data, never a 500.

The pages are not listed by hand: the test walks the URL resolver and takes every pattern with an organisation
slug (``<slug:slug>``), so a new page is covered the day it is added. Each is filled with objects of the
*foreign* organisation (riverside, of the shared demo: tests/conftest.py, ``demo_db``) and opened, with GET and
with an empty POST, by each role of the *home* organisation (northbridge: a member, a facilitator, the lead),
by the site's staff (the demo's site operator, who holds no role in any organisation) and by an anonymous
visitor, in two ways:

- the foreign organisation's own address (its slug, its objects);
- the home organisation's address naming the foreign organisation's objects (the home slug, foreign ids).

Each must answer 403 or 404 (or 405 for a method the page does not take), or send an anonymous visitor to sign
in: never 200, never a redirect somewhere else (but the few named in ``REFUSES_BY_REDIRECT``, which send the
visitor back to their own organisation's page with a message), never a 500; and no POST may change the
foreign organisation's rows. The public pages (the front door, meant for anyone) are named in ``PUBLIC`` with
why; they must not fail either, and show no member.

A pattern with a parameter that ``SAMPLES`` cannot fill fails here, naming the parameter: add a sample there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from groups.models import Membership, SupportGroup
from outcomes.models import Assessment, MeasurementPlan, PlanTimePoint, Response, RiskAlert
from peersupport.models import ErasureRequest, Organisation, Role, RoleKind, User
from sessions.models import GroupSession

pytestmark = pytest.mark.django_db

HOME, FOREIGN = "northbridge", "riverside"

#: Pages for anyone, signed in or not: an organisation's public page shows what it chose to publish.
PUBLIC = {
    "groups:public": "the organisation's public page (the front door), open to anyone",
    "groups:public_ask": "asking to join from the public page, open to anyone",
}


def _walk(patterns, prefix: str = "", namespace: str = "", converters: dict | None = None):
    for entry in patterns:
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace]))
            yield from _walk(entry.url_patterns, route, ns, found)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join(filter(None, [namespace, entry.name])), route, tuple(found)


def organisation_patterns() -> list[tuple[str, str, tuple[str, ...]]]:
    """(view name, route, parameter names) of every pattern with an organisation slug."""
    return sorted({p for p in _walk(get_resolver().url_patterns) if "slug" in p[2]})


PATTERNS = organisation_patterns()
ROLES = ["member", "facilitator", "lead", "staff", "anonymous"]


@dataclass
class Foreign:
    """One object of each kind in the foreign organisation, coherent with one another."""

    organisation: Organisation
    group: SupportGroup
    membership: Membership
    session: GroupSession
    assessment: Assessment
    response: Response
    alert: RiskAlert
    plan: MeasurementPlan
    time_point: PlanTimePoint
    role: Role


#: How to fill each URL parameter (other than the slug) from the foreign organisation's objects.
SAMPLES: dict[str, Callable[[Foreign], object]] = {
    "group_id": lambda f: f.group.pk,
    "membership_id": lambda f: f.membership.pk,
    "curriculum_id": lambda f: f.group.curriculum_id,
    "session_id": lambda f: f.session.pk,
    "assessment_id": lambda f: f.assessment.pk,
    "code": lambda f: f.response.instrument_code,
    "version": lambda f: f.response.instrument_version,
    "response_id": lambda f: f.response.pk,
    "alert_id": lambda f: f.alert.pk,
    "plan_id": lambda f: f.plan.pk,
    "time_point_id": lambda f: f.time_point.pk,
    "role_id": lambda f: f.role.pk,
    "request_id": lambda f: erasure_request(f).pk,
}


def erasure_request(f: Foreign) -> ErasureRequest:
    """A pending request of a foreign member to have their data erased (the demo has none)."""
    found = ErasureRequest.objects.filter(organisation=f.organisation).first()
    return found or ErasureRequest.objects.create(user=f.membership.user, organisation=f.organisation)


#: Parameters that name no organisation's object (an instrument of the shared registry): a page whose only
#: parameters are these is tried on the foreign organisation's address only.
NOT_OWNED = {"code", "version"}

#: Pages that refuse a foreign object by sending the visitor back to a page of their own organisation with a
#: message, rather than 404: allowed for these only, and only if nothing of the foreign organisation changed.
REFUSES_BY_REDIRECT = {
    "groups:ask": "'That group is not open to requests. Choose one from the list.' (back to the open groups)",
    "role_remove": "'That role no longer exists.' (back to the lead's dashboard)",
}


def foreign_objects() -> Foreign:
    org = Organisation.objects.get(slug=FOREIGN)
    response = (
        Response.objects.filter(assessment__membership__group__organisation=org, submitted_at__isnull=False)
        .select_related("assessment__membership__group")
        .order_by("pk")
        .first()
    )
    assert response is not None, "the demo has no answered questionnaire in the foreign organisation"
    assessment = response.assessment
    membership = assessment.membership
    group = membership.group
    alert = RiskAlert.objects.filter(organisation=org).first() or RiskAlert.objects.create(
        response=response, rule="phq9_item9", organisation=org, group=group, member=membership.user
    )
    time_point = PlanTimePoint.objects.filter(plan__organisation=org).select_related("plan").order_by("pk").first()
    assert time_point is not None, "the demo has no measurement plan in the foreign organisation"
    session = GroupSession.objects.filter(group=group).order_by("pk").first()
    assert session is not None, f"the demo's group {group} has no session"
    return Foreign(
        organisation=org,
        group=group,
        membership=membership,
        session=session,
        assessment=assessment,
        response=response,
        alert=alert,
        plan=time_point.plan,
        time_point=time_point,
        role=Role.objects.filter(organisation=org, kind=RoleKind.FACILITATOR).order_by("pk").first(),
    )


def visitor(role: str) -> User | None:
    if role == "anonymous":
        return None
    if role == "staff":
        user = User.objects.get(is_superuser=True, roles__isnull=True)
    else:
        user = User.objects.get(
            email={"member": "member01", "facilitator": "facilitator1", "lead": "lead"}[role] + f"@{HOME}.example"
        )
        assert user.roles.filter(organisation__slug=HOME, kind=role).exists()
    assert not user.roles.filter(organisation__slug=FOREIGN).exists()
    return user


def path_to_organisation(model, depth: int = 4) -> str | None:
    """The lookup from ``model`` to its organisation along foreign keys (``membership__group__organisation``),
    shortest first, or None for rows of no organisation (users, sessions…)."""
    frontier = [(model, "")]
    for _ in range(depth):
        following = []
        for current, path in frontier:
            for field in current._meta.concrete_fields:
                if not field.is_relation or field.related_model is None:
                    continue
                lookup = f"{path}__{field.name}" if path else field.name
                if field.related_model is Organisation:
                    return lookup
                following.append((field.related_model, lookup))
        frontier = following
    return None


def fingerprint(org: Organisation) -> dict[str, tuple]:
    """The primary keys of every row of the foreign organisation, model by model (and the state of its alerts,
    memberships and roles): a POST that created or deleted anything of theirs, or acted on them, changes these."""
    found = {}
    for model in apps.get_models():
        path = path_to_organisation(model)
        if path is None:
            continue
        rows = model.objects.filter(**{path: org})
        found[model._meta.label] = tuple(rows.order_by("pk").values_list("pk", flat=True))
    found["open alerts"] = tuple(RiskAlert.objects.filter(organisation=org, status="open").values_list("pk", flat=True))
    found["memberships"] = tuple(
        Membership.objects.filter(group__organisation=org).order_by("pk").values_list("pk", "status")
    )
    found["erasure requests"] = tuple(
        ErasureRequest.objects.filter(organisation=org).order_by("pk").values_list("pk", "status")
    )
    found["roles"] = tuple(Role.objects.filter(organisation=org).order_by("pk").values_list("pk", "kind"))
    return found


def changed(before: dict, after: dict) -> list[str]:
    return [label for label in before.keys() | after.keys() if before.get(label) != after.get(label)]


def refused(response, anonymous: bool, name: str) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    if response.status_code != 302:
        return False
    if anonymous:
        return response.url.startswith(reverse("account_login"))
    return name in REFUSES_BY_REDIRECT and response.url.startswith(f"/o/{HOME}/")


def test_the_sweep_finds_the_organisation_pages():
    names = {name for name, _, _ in PATTERNS}
    # A few of each app, so the walk itself cannot silently find nothing.
    assert {"member_dashboard", "groups:detail", "outcomes:evaluation", "sessions:register"} <= names
    assert set(PUBLIC) <= names


@pytest.mark.parametrize(("name", "route", "params"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_no_role_reaches_another_organisations_objects(client, demo_db, name, route, params):
    foreign = foreign_objects()
    kwargs = {}
    for param in params:
        if param == "slug":
            continue
        if param not in SAMPLES:
            pytest.fail(
                f"{name} ({route}) has a parameter {param!r} the permission sweep cannot fill: add to SAMPLES in "
                f"tests/test_permission_sweep.py how to take it from the foreign organisation's objects "
                f"(e.g. {param!r}: lambda f: f.group.pk)"
            )
        kwargs[param] = SAMPLES[param](foreign)
    slugs = [FOREIGN] + ([HOME] if set(kwargs) - NOT_OWNED else [])
    before = fingerprint(foreign.organisation)
    problems = []
    for role in ROLES:
        client.logout()
        user = visitor(role)
        if user is not None:
            client.force_login(user)
        for slug in slugs:
            url = reverse(name, kwargs={"slug": slug, **kwargs})
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                where = f"{method.upper()} {url} as {role}"
                if response.status_code >= 500:
                    problems.append(f"{where}: {response.status_code}")
                elif name in PUBLIC:
                    if response.status_code == 200:
                        page = response.content.decode()
                        if foreign.membership.user.email in page or foreign.membership.user.display_name in page:
                            problems.append(f"{where} shows a member of the foreign organisation")
                elif not refused(response, user is None, name):
                    problems.append(
                        f"{where} answered {response.status_code}"
                        + (f" to {response.url}" if response.status_code in (301, 302) else "")
                    )
        after = fingerprint(foreign.organisation)
        if after != before:
            problems.append(f"a POST as {role} changed the foreign organisation: {changed(before, after)}")
            before = after
    assert not problems, "foreign objects must get 403/404 (or sign-in for an anonymous visitor):\n" + "\n".join(
        problems
    )
