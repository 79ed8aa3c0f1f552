"""Who must have a second factor, and the pages that ask for it.

Facilitators, leads and staff must have turned on a second factor (allauth MFA: an authenticator app, with
recovery codes) before any page in ``PROTECTED_URL_NAMES``: the pages that show a member's answers or risk
alerts, the evaluation, the exports, and the whole admin. Until they have, those pages send them to
``second_factor_required``, which says why and links to the enrolment. An organisation can require it of its
members too (``Organisation.require_second_factor_for_members``); they are then asked before their own
answers and scores too (``MEMBER_PROTECTED_URL_NAMES``).

Having one is enough: once a second factor is on, allauth asks for it at every sign-in, so a session of an
enrolled user has passed it.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .middleware import DATABASE_UNAVAILABLE, database_unavailable
from .models import Organisation, Role, RoleKind

#: The one list of pages (URL names, with their namespace) that facilitators, leads and staff open only with a
#: second factor.
PROTECTED_URL_NAMES = frozenset(
    {
        # Risk alerts are on the staff dashboards.
        "facilitator_dashboard",
        "lead_dashboard",
        "outcomes:alert",
        "outcomes:alert_acknowledge",
        # Answers and the evaluation.
        "outcomes:lead_import",
        "outcomes:lead_roster_import",
        "outcomes:evaluation",
        # Exports.
        "outcomes:exports",
        "outcomes:export_summary_csv",
        "outcomes:export_summary_xlsx",
        "outcomes:export_meta_analysis_csv",
        "outcomes:export_items_csv",
        "outcomes:export_dictionary_csv",
        # Erasure requests name members, and approving one erases them.
        "lead_erasure_requests",
        "lead_erasure_decide",
    }
)
#: Every page of the admin site, whatever its name.
PROTECTED_NAMESPACES = frozenset({"admin"})
#: Where members of an organisation that requires it are asked too: their own answers and scores.
MEMBER_PROTECTED_URL_NAMES = frozenset(
    {
        "outcomes:questionnaires",
        "outcomes:assessment",
        "outcomes:instrument",
        "outcomes:my_scores",
        "outcomes:my_answers",
        "data_download",  # the download holds their answers and scores
    }
)

SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)
STAFF_KINDS = (RoleKind.FACILITATOR, RoleKind.LEAD)


def has_second_factor(user) -> bool:
    cached = user.__dict__.get("_has_second_factor")
    if cached is None:
        cached = Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()
        user.__dict__["_has_second_factor"] = cached
    return cached


def staff_must_have_one(user) -> bool:
    """Staff of the site, and facilitators and leads of any organisation."""
    if user.is_staff or user.is_superuser:
        return True
    return Role.objects.filter(user=user, kind__in=STAFF_KINDS).exists()


def members_must_have_one(user) -> bool:
    """A member of an organisation that requires a second factor of its members."""
    return Organisation.objects.filter(
        roles__user=user, roles__kind=RoleKind.MEMBER, require_second_factor_for_members=True
    ).exists()


def must_have_one(user) -> bool:
    """Whether the user may not remove their last second factor."""
    return staff_must_have_one(user) or members_must_have_one(user)


def who_must_have_one(request: HttpRequest):
    """For this request's page: the test of who needs a second factor to open it (None: nobody). Reads no data."""
    match = request.resolver_match
    if match is None:
        return None
    if match.namespace in PROTECTED_NAMESPACES or match.view_name in PROTECTED_URL_NAMES:
        return staff_must_have_one
    if match.view_name in MEMBER_PROTECTED_URL_NAMES:
        return members_must_have_one
    return None


class SecondFactorRequiredMiddleware:
    """Sends a user without a second factor from a page in the lists above to the page that explains it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        must_have_one_here = who_must_have_one(request)
        user = getattr(request, "user", None)
        if must_have_one_here is None or user is None:
            return None
        try:  # the first read of the session and the user: an error here reaches no view's error handling
            if not user.is_authenticated or has_second_factor(user) or not must_have_one_here(user):
                return None
        except DATABASE_UNAVAILABLE:
            return database_unavailable(request)
        return redirect(f"{reverse('second_factor_required')}?{urlencode({'next': request.get_full_path()})}")
