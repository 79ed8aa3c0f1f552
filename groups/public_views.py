"""The front door: an organisation's public page, "Have a code?", and joining or asking to join from them.

Signed out, the person is sent to sign up (or sign in) and brought back here afterwards: the page they were
on is kept in their session (``peersupport.adapters.RETURN_TO``) and allauth's adapter returns them to it
after sign-in, including the sign-in that follows verifying their address. Rules live in ``groups.services.front_door``.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from peersupport.adapters import RETURN_TO

from . import selectors
from .forms import FrontDoorForm, JoinCodeForm
from .models import MembershipStatus
from .services import EnrolmentError, front_door
from .services.membership import no_such_code_message

logger = logging.getLogger(__name__)

#: Wrong codes one address may try in ``CODE_WINDOW`` seconds before the front door stops looking codes up.
WRONG_CODES_ALLOWED = 20
CODE_WINDOW = 600


def _wrong_code_key(request: HttpRequest) -> str:
    return f"front-door:wrong-codes:{request.META.get('REMOTE_ADDR', '')}"


def _too_many_wrong_codes(request: HttpRequest) -> bool:
    try:
        return (cache.get(_wrong_code_key(request)) or 0) >= WRONG_CODES_ALLOWED
    except Exception:  # the cache (Redis) is down: never fail the page for it
        return False


def _count_wrong_code(request: HttpRequest) -> None:
    key = _wrong_code_key(request)
    try:
        if not cache.add(key, 1, timeout=CODE_WINDOW):
            cache.incr(key)
    except Exception:  # the cache (Redis) is down: the page goes on, the try is not counted
        logger.warning("Could not count a wrong enrolment code: the cache is unreachable", exc_info=True)


def _lookup(request: HttpRequest, code: str, form: JoinCodeForm):
    """The group of ``code``, or None with the reason added to ``form``. Wrong codes are counted per address, so
    nobody can try codes until one works."""
    if _too_many_wrong_codes(request):
        form.add_error("code", _("Too many codes were tried from here. Wait ten minutes, then try again."))
        return None
    group = selectors.group_by_code(code)
    if group is None:
        _count_wrong_code(request)
        form.add_error("code", no_such_code_message())
    return group


def visitor_zone(request: HttpRequest, organisation) -> str:
    """The zone times are shown in: the signed-in person's own, else the organisation's (the page's script
    rewrites them into the browser's zone)."""
    if request.user.is_authenticated:
        return request.user.time_zone
    return organisation.time_zone


def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.public_organisation(slug)
    if organisation is None:
        raise Http404("No such page.")
    return render(
        request,
        "groups/public_page.html",
        {
            "organisation": organisation,
            "groups": selectors.public_groups(organisation),
            "zone": visitor_zone(request, organisation),
            "code_form": JoinCodeForm(),
        },
    )


@require_http_methods(["GET", "POST"])
def join_start(request: HttpRequest) -> HttpResponse:
    """ "Have a code?": the code names a group, whose page asks for consent and joins."""
    data = request.POST if request.method == "POST" else (request.GET if "code" in request.GET else None)
    form = JoinCodeForm(data)
    if data is not None and form.is_valid():
        group = _lookup(request, form.cleaned_data["code"], form)
        if group is not None:
            return redirect("groups:join_group", group.enrolment_code)
    return render(request, "groups/join_start.html", {"form": form})


def _sign_up_first(request: HttpRequest, context: dict) -> HttpResponse:
    request.session[RETURN_TO] = request.path
    query = urlencode({"next": request.path})
    context.update(
        signup_url=f"{reverse('account_signup')}?{query}",
        login_url=f"{reverse('account_login')}?{query}",
    )
    return render(request, "groups/front_door_join.html", context)


def _front_door(request: HttpRequest, group, *, ask: bool) -> HttpResponse:
    organisation = group.organisation
    context = {"organisation": organisation, "group": group, "ask": ask}
    if not request.user.is_authenticated:
        return _sign_up_first(request, context)
    request.session.pop(RETURN_TO, None)
    membership = selectors.member_membership(request.user, organisation, group.pk)
    if membership is not None and membership.status in selectors.CURRENT_STATUSES:
        messages.info(request, _("You are already in %(group)s, or waiting for a place.") % {"group": group.name})
        return redirect("member_dashboard", organisation.slug)
    try:
        version = front_door.consent_to_accept(group)
    except EnrolmentError as exc:
        context["problem"] = str(exc)
        return render(request, "groups/front_door_join.html", context)
    consent_needed = front_door.needs_consent(group, request.user)
    form = FrontDoorForm(
        request.POST if request.method == "POST" else None,
        consent_needed=consent_needed,
        year_needed=front_door.needs_year_of_birth(group, request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = front_door.join(
                group=group,
                user=request.user,
                accepted_consent=int(request.POST.get("version") or 0) if consent_needed else None,
                year_of_birth=form.cleaned_data.get("year_of_birth"),
                ask=ask,
                request=request,
            )
        except EnrolmentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, joined_message(membership))
            return redirect("member_dashboard", organisation.slug)
    context.update(form=form, version=version, consent_needed=consent_needed)
    return render(request, "groups/front_door_join.html", context)


def joined_message(membership) -> str:
    name = membership.group.name
    if membership.status == MembershipStatus.ACTIVE:
        return _("You are in %(group)s. Welcome!") % {"group": name}
    if membership.status == MembershipStatus.WAITLISTED:
        return _("%(group)s is full, so you are on its waiting list. We will e-mail you when a place is free.") % {
            "group": name
        }
    return _("You asked to join %(group)s. A facilitator will reply soon.") % {"group": name}


@never_cache
@require_http_methods(["GET", "POST"])
def join_group(request: HttpRequest, code: str) -> HttpResponse:
    form = JoinCodeForm({"code": code})
    form.is_valid()
    group = _lookup(request, code, form)
    if group is None:
        return render(request, "groups/join_start.html", {"form": form}, status=404)
    return _front_door(request, group, ask=False)


@never_cache
@require_http_methods(["GET", "POST"])
def ask_group(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    organisation = selectors.public_organisation(slug)
    if organisation is None:
        raise Http404("No such page.")
    group = selectors.public_groups(organisation).filter(pk=group_id, open_to_requests=True).first()
    if group is None:
        raise Http404("No such group.")
    return _front_door(request, group, ask=True)
