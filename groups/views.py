"""Pages for curricula, groups and enrolment. Thin: permissions in ``permissions``, rules in ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from peersupport.pagination import page_of
from peersupport.permissions import Perm, can, organisation_for
from peersupport.selectors import consent_is_active
from peersupport.views import consent_required

from . import selectors, services
from .forms import (
    CurriculumForm,
    DeclineForm,
    GroupStatusForm,
    JoinCodeForm,
    SupportGroupForm,
    WithdrawForm,
    unit_formset,
    with_more_unit_rows,
)
from .models import Membership, MembershipStatus, WithdrawalReason
from .permissions import is_lead, manageable_group, staff_organisation, visible_curriculum
from .public_views import joined_message as _joined_message
from .services import curricula as curriculum_services
from .services import groups as group_services
from .services import membership as membership_services


def _add_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: on its fields where the form has them."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _optional_url(name: str, *args) -> str | None:
    """A URL of another app (the sessions pages) when it is installed, else None."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


# --- Curricula (leads manage; facilitators read) -------------------------------------------------


@login_required
def curriculum_list(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = staff_organisation(request, slug)
    return render(
        request,
        "groups/curriculum_list.html",
        {
            "organisation": organisation,
            "curricula": page_of(request, selectors.curricula_of(organisation)),
            "is_lead": is_lead(request.user, organisation),
        },
    )


@login_required
def curriculum_detail(request: HttpRequest, slug: str, curriculum_id: int) -> HttpResponse:
    curriculum = visible_curriculum(request, slug, curriculum_id)
    return render(
        request,
        "groups/curriculum_detail.html",
        {
            "organisation": curriculum.organisation,
            "curriculum": curriculum,
            "units": curriculum.units.order_by("position"),
            "latest": selectors.latest_version(curriculum),
            "is_lead": is_lead(request.user, curriculum.organisation),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def curriculum_create(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    form = CurriculumForm(request.POST or None)
    units = unit_formset(request.POST or None)
    if "more_units" in request.POST:
        units = unit_formset(with_more_unit_rows(request.POST))
    elif request.method == "POST" and form.is_valid() and units.is_valid():
        try:
            curriculum = curriculum_services.curriculum_create(
                organisation=organisation, by=request.user, request=request, units=units.units(), **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Curriculum “%(title)s” created.") % {"title": curriculum.title})
            return redirect("groups:curriculum_detail", organisation.slug, curriculum.pk)
    return render(
        request,
        "groups/curriculum_form.html",
        {"organisation": organisation, "form": form, "units": units, "curriculum": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def curriculum_new_version(request: HttpRequest, slug: str, curriculum_id: int) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    curriculum = get_object_or_404(organisation.curricula, pk=curriculum_id)
    form = CurriculumForm(request.POST or None, instance=curriculum if request.method == "GET" else None)
    units = unit_formset(request.POST or None, curriculum=curriculum)
    if "more_units" in request.POST:
        units = unit_formset(with_more_unit_rows(request.POST), curriculum=curriculum)
    elif request.method == "POST" and form.is_valid() and units.is_valid():
        try:
            new = curriculum_services.curriculum_new_version(
                curriculum=curriculum, by=request.user, request=request, units=units.units(), **form.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Version %(v)s published. Groups already using an earlier version keep it.") % {"v": new.version},
            )
            return redirect("groups:curriculum_detail", organisation.slug, new.pk)
    return render(
        request,
        "groups/curriculum_form.html",
        {"organisation": organisation, "form": form, "units": units, "curriculum": curriculum},
    )


@login_required
@require_POST
def starter_curricula_load(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    created = curriculum_services.starter_curricula_load(organisation=organisation, by=request.user, request=request)
    if created:
        messages.success(
            request,
            _("Added: %(titles)s.") % {"titles": ", ".join(c.title for c in created)},
        )
    else:
        messages.info(request, _("You already have the starter curricula."))
    return redirect("groups:curricula", organisation.slug)


# --- Groups (facilitators: their own; leads: all of the organisation) ---------------------------


@login_required
def group_list(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = staff_organisation(request, slug)
    return render(
        request,
        "groups/group_list.html",
        {
            "organisation": organisation,
            "groups": page_of(request, selectors.groups_overview(request.user, organisation)),
            "is_lead": is_lead(request.user, organisation),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = staff_organisation(request, slug)
    lead = is_lead(request.user, organisation)
    form = SupportGroupForm(request.POST or None, organisation=organisation, user=request.user, is_lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            group = group_services.group_create(
                organisation=organisation,
                by=request.user,
                request=request,
                facilitators=form.cleaned_data["facilitators"],
                **form.group_fields(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Group “%(name)s” created as a draft. Open it for recruiting when you are ready.")
                % {"name": group.name},
            )
            return redirect("groups:detail", organisation.slug, group.pk)
    return render(request, "groups/group_form.html", {"organisation": organisation, "form": form, "group": None})


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    organisation = group.organisation
    lead = is_lead(request.user, organisation)
    form = SupportGroupForm(
        request.POST or None, instance=group, organisation=organisation, user=request.user, is_lead=lead
    )
    if request.method == "POST" and form.is_valid():
        if not lead and request.user.pk not in {u.pk for u in form.cleaned_data["facilitators"]}:
            form.add_error("facilitators", _("You cannot remove yourself. Ask a service lead."))
        else:
            try:
                group_services.group_update(
                    group=group,
                    by=request.user,
                    request=request,
                    facilitators=form.cleaned_data["facilitators"],
                    **form.group_fields(),
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, _("Group saved."))
                return redirect("groups:detail", organisation.slug, group.pk)
    return render(request, "groups/group_form.html", {"organisation": organisation, "form": form, "group": group})


@login_required
def group_detail(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = selectors.group_with_figures(manageable_group(request, slug, group_id))
    organisation = group.organisation
    return render(
        request,
        "groups/group_detail.html",
        {
            "organisation": organisation,
            "group": group,
            "facilitators": list(group.facilitators.order_by("display_name", "email")),
            "roster": selectors.roster(group),
            "status_form": GroupStatusForm(group=group),
            "next_statuses": group_services.next_statuses(group),
            "invitation_url": membership_services.group_invitation_url(group),
            "schedule_url": _optional_url("sessions:schedule", organisation.slug, group.pk),
            "contacts_url": _optional_url("sessions:contacts", organisation.slug, group.pk),
            "withdrawal_reasons": WithdrawalReason.choices,
            "is_lead": is_lead(request.user, organisation),
        },
    )


@login_required
@require_POST
def group_status(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    form = GroupStatusForm(request.POST, group=group)
    if not form.is_valid():
        messages.error(request, _("Choose one of the statuses offered."))
    else:
        try:
            group = group_services.group_set_status(
                group=group, status=form.cleaned_data["status"], by=request.user, request=request
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The group is now %(status)s.") % {"status": group.get_status_display()})
    return redirect("groups:detail", slug, group.pk)


@login_required
@require_POST
def group_renew_code(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    group = group_services.group_renew_code(group=group, by=request.user, request=request)
    messages.success(
        request, _("New code: %(code)s. The old code and links no longer work.") % {"code": group.enrolment_code}
    )
    return redirect("groups:detail", slug, group.pk)


def _managed_membership(request: HttpRequest, slug: str, group_id: int, membership_id: int) -> Membership:
    group = manageable_group(request, slug, group_id)
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, group=group)
    membership.group = group
    return membership


def _membership_action(request: HttpRequest, slug: str, group_id: int, membership_id: int, action) -> HttpResponse:
    membership = _managed_membership(request, slug, group_id, membership_id)
    try:
        message = action(membership)
    except services.EnrolmentError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, message)
    return redirect("groups:detail", slug, group_id)


@login_required
@require_POST
def request_approve(request: HttpRequest, slug: str, group_id: int, membership_id: int) -> HttpResponse:
    def approve(membership):
        membership = membership_services.request_approve(membership=membership, by=request.user, request=request)
        if membership.status == MembershipStatus.ACTIVE:
            return _("%(name)s has a place.") % {"name": membership.user.name}
        return _("The group is full: %(name)s is on the waiting list.") % {"name": membership.user.name}

    return _membership_action(request, slug, group_id, membership_id, approve)


@login_required
@require_POST
def request_decline(request: HttpRequest, slug: str, group_id: int, membership_id: int) -> HttpResponse:
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, _("Please keep the note under %(n)s characters.") % {"n": membership_services.MAX_NOTE_LENGTH}
        )
        return redirect("groups:detail", slug, group_id)

    def decline(membership):
        membership_services.request_decline(
            membership=membership, by=request.user, note=form.cleaned_data["note"], request=request
        )
        return _("Request from %(name)s declined; they have been told.") % {"name": membership.user.name}

    return _membership_action(request, slug, group_id, membership_id, decline)


@login_required
@require_POST
def membership_complete(request: HttpRequest, slug: str, group_id: int, membership_id: int) -> HttpResponse:
    def complete(membership):
        membership_services.membership_complete(membership=membership, by=request.user, request=request)
        return _("%(name)s is marked as having completed the group.") % {"name": membership.user.name}

    return _membership_action(request, slug, group_id, membership_id, complete)


@login_required
@require_POST
def membership_remove(request: HttpRequest, slug: str, group_id: int, membership_id: int) -> HttpResponse:
    """A facilitator records that a member left (e.g. told them by phone), with the reason if known."""
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason from the list, and keep the note short."))
        return redirect("groups:detail", slug, group_id)

    def remove(membership):
        membership_services.membership_withdraw(
            membership=membership, by=request.user, request=request, **form.cleaned_data
        )
        return _("%(name)s is recorded as having left.") % {"name": membership.user.name}

    return _membership_action(request, slug, group_id, membership_id, remove)


# --- Members ---------------------------------------------------------------------------------------


@consent_required
@require_http_methods(["GET", "POST"])
def join_code(request: HttpRequest, organisation) -> HttpResponse:
    form = JoinCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = membership_services.enrol_by_code(
                organisation=organisation, code=form.cleaned_data["code"], user=request.user, request=request
            )
        except services.EnrolmentError as exc:
            form.add_error("code", str(exc))
        else:
            messages.success(request, _joined_message(membership))
            return redirect("member_dashboard", organisation.slug)
    return render(request, "groups/join_code.html", {"organisation": organisation, "form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def join_link(request: HttpRequest, token: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        group = membership_services.group_from_token(token)
    except services.EnrolmentError as exc:
        return render(request, "groups/link_invalid.html", {"reason": str(exc)}, status=410)
    organisation = group.organisation
    if not can(request.user, organisation, Perm.MEMBER_AREA):
        raise Http404("No such group.")
    if not consent_is_active(user=request.user, organisation=organisation):
        return redirect(f"{reverse('consent', args=[organisation.slug])}?next={request.path}")
    membership = selectors.member_membership(request.user, organisation, group.pk)
    if request.method == "POST":
        try:
            membership = membership_services.enrol_by_link(token=token, user=request.user, request=request)
        except services.EnrolmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _joined_message(membership))
            return redirect("member_dashboard", organisation.slug)
    return render(
        request,
        "groups/join_link.html",
        {"organisation": organisation, "group": group, "membership": membership},
    )


@consent_required
def open_groups(request: HttpRequest, organisation) -> HttpResponse:
    return render(
        request,
        "groups/open_groups.html",
        {
            "organisation": organisation,
            "groups": page_of(request, selectors.open_groups_for(request.user, organisation)),
        },
    )


@consent_required
@require_POST
def ask_to_join(request: HttpRequest, organisation, group_id: int) -> HttpResponse:
    group = selectors.open_groups_for(request.user, organisation).filter(pk=group_id).first()
    if group is None:
        messages.error(request, _("That group is not open to requests. Choose one from the list."))
        return redirect("groups:open", organisation.slug)
    try:
        membership = membership_services.request_to_join(group=group, user=request.user, request=request)
    except services.EnrolmentError as exc:
        messages.error(request, str(exc))
        return redirect("groups:open", organisation.slug)
    messages.success(request, _joined_message(membership))
    return redirect("member_dashboard", organisation.slug)


@consent_required
@require_http_methods(["GET", "POST"])
def leave(request: HttpRequest, organisation, group_id: int) -> HttpResponse:
    membership = selectors.member_membership(request.user, organisation, group_id)
    if membership is None or membership.status not in selectors.CURRENT_STATUSES:
        raise Http404("No such membership.")
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership_services.membership_withdraw(
                membership=membership, by=request.user, request=request, **form.cleaned_data
            )
        except services.EnrolmentError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("You have left %(group)s. Thank you for letting us know.") % {"group": membership.group.name},
            )
            return redirect("member_dashboard", organisation.slug)
    return render(request, "groups/leave.html", {"organisation": organisation, "membership": membership, "form": form})
