"""Schedules, registers, logs, contacts, members' upcoming sessions and calendar feeds. Thin: rules live in services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from peersupport.pagination import page_number_of, page_of
from peersupport.views import consent_required

from . import calendar, selectors, services
from .display import in_zone
from .forms import (
    CancelForm,
    ContactForm,
    FidelityItemForm,
    NewFidelityItemForm,
    RegisterForm,
    RemindersForm,
    ScheduleRuleForm,
    SessionChangeForm,
    SessionLogForm,
)
from .models import AttendanceStatus, SessionStatus
from .permissions import lead_organisation, manageable_group, manageable_session


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- Facilitators and leads -------------------------------------------------------------


@login_required
@require_GET
def schedule(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    now = timezone.now()
    # Without a page asked for, the page holding the next session (a long-running group's first page is its past).
    sessions = page_of(
        request,
        selectors.schedule_of(group),
        default=page_number_of(selectors.schedule_position_of_now(group, now=now)),
    )
    return render(
        request,
        "sessions/schedule.html",
        {"organisation": group.organisation, "group": group, "sessions": sessions, "now": now},
    )


@login_required
@require_http_methods(["GET", "POST"])
def generate(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    initial = {"start_date": timezone.localdate()}
    if group.curriculum_id:
        initial["count"] = group.curriculum.units.count()
    form = ScheduleRuleForm(request.POST or None, time_zone=group.time_zone, initial=initial)
    clashes = []
    if request.method == "POST" and form.is_valid():
        try:
            created = services.schedule_generate(
                group=group,
                rule=form.rule(),
                by=request.user,
                confirm_overlap=form.cleaned_data["confirm_overlap"],
                request=request,
            )
        except services.OverlapWarning as warning:
            clashes = warning.clashes
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext("%(n)s session added to the schedule.", "%(n)s sessions added to the schedule.", len(created))
                % {"n": len(created)},
            )
            return redirect("sessions:schedule", group.organisation.slug, group.pk)
    return render(
        request,
        "sessions/generate.html",
        {"organisation": group.organisation, "group": group, "form": form, "clashes": clashes},
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    session = manageable_session(request, slug, session_id)
    group = session.group
    if session.status == SessionStatus.CANCELLED:
        messages.error(request, _("This session is cancelled and cannot be changed."))
        return redirect("sessions:schedule", group.organisation.slug, group.pk)
    local_start = in_zone(session.starts_at, group.time_zone)
    initial = {
        "date": local_start.date(),
        "local_time": local_start.time().replace(tzinfo=None),
        "duration_minutes": int((session.ends_at - session.starts_at).total_seconds() // 60),
        "location": session.location,
        "online_url": session.online_url,
    }
    form = SessionChangeForm(request.POST or None, time_zone=group.time_zone, initial=initial)
    clashes = []
    if request.method == "POST" and form.is_valid():
        starts_at, ends_at = form.times()
        try:
            services.session_change(
                session=session,
                starts_at=starts_at,
                ends_at=ends_at,
                location=form.cleaned_data["location"],
                online_url=form.cleaned_data["online_url"],
                by=request.user,
                confirm_overlap=form.cleaned_data["confirm_overlap"],
                request=request,
            )
        except services.OverlapWarning as warning:
            clashes = warning.clashes
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Session saved."))
            return redirect("sessions:schedule", group.organisation.slug, group.pk)
    return render(
        request,
        "sessions/edit.html",
        {"organisation": group.organisation, "group": group, "session": session, "form": form, "clashes": clashes},
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    session = manageable_session(request, slug, session_id)
    group = session.group
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.session_cancel(session=session, note=form.cleaned_data["note"], by=request.user, request=request)
        messages.success(request, _("Session cancelled. Active members are told by e-mail."))
        return redirect("sessions:schedule", group.organisation.slug, group.pk)
    return render(
        request,
        "sessions/cancel.html",
        {"organisation": group.organisation, "group": group, "session": session, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    session = manageable_session(request, slug, session_id)
    group = session.group
    rows = selectors.register_rows(session)
    form = RegisterForm(request.POST or None, rows=rows)
    if request.method == "POST" and session.status != SessionStatus.CANCELLED and form.is_valid():
        try:
            statuses = form.statuses()
            if request.POST.get("all_present"):
                statuses = {row.membership.pk: AttendanceStatus.PRESENT for row in rows if row.consenting} | statuses
            saved = services.attendance_record(session=session, statuses=statuses, by=request.user, request=request)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext("Register saved for %(n)s member.", "Register saved for %(n)s members.", saved) % {"n": saved},
            )
            return redirect("sessions:register", group.organisation.slug, session.pk)
    members = [(row, form[f"m{row.membership.pk}"] if row.consenting else None) for row in rows]
    return render(
        request,
        "sessions/register.html",
        {"organisation": group.organisation, "group": group, "session": session, "form": form, "members": members},
    )


@login_required
@require_http_methods(["GET", "POST"])
def log(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    session = manageable_session(request, slug, session_id)
    group = session.group
    all_items = services.fidelity_items_for(group.organisation, active_only=False)
    items = [item for item in all_items if item.active]
    labels = {item.key: item.label for item in all_items}
    existing = selectors.log_of(session, request.user)
    initial = {}
    if existing is not None:
        initial = {"notes": existing.notes} | {
            f"fidelity_{key}": value for key, value in (existing.fidelity or {}).items()
        }
    form = SessionLogForm(request.POST or None, items=items, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.session_log_save(
                session=session,
                facilitator=request.user,
                notes=form.cleaned_data["notes"],
                fidelity=form.fidelity(),
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Session log saved."))
            return redirect("sessions:schedule", group.organisation.slug, group.pk)
    return render(
        request,
        "sessions/log.html",
        {
            "organisation": group.organisation,
            "group": group,
            "session": session,
            "form": form,
            "other_logs": [
                (other, [labels[key] for key, kept in other.fidelity.items() if kept and key in labels])
                for other in selectors.other_logs(session, request.user)
            ],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def contacts(request: HttpRequest, slug: str, group_id: int) -> HttpResponse:
    group = manageable_group(request, slug, group_id)
    form = ContactForm(request.POST or None, memberships=selectors.contactable_memberships(group))
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_record(
                membership=form.cleaned_data["membership"],
                facilitator=request.user,
                date=form.cleaned_data["date"],
                mode=form.cleaned_data["mode"],
                minutes=form.cleaned_data["minutes"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Contact recorded."))
            return redirect("sessions:contacts", group.organisation.slug, group.pk)
    return render(
        request,
        "sessions/contacts.html",
        {
            "organisation": group.organisation,
            "group": group,
            "form": form,
            "contacts": page_of(request, selectors.contacts_of(group)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def fidelity_items(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = lead_organisation(request, slug)
    items = services.fidelity_items_for(organisation, active_only=False)
    ItemFormSet = formset_factory(FidelityItemForm, extra=0)
    initial = [{"label": i.label, "position": i.position, "active": i.active} for i in items]
    formset = ItemFormSet(request.POST or None, initial=initial, prefix="items")
    new_form = NewFidelityItemForm(request.POST or None)
    if request.method == "POST" and formset.is_valid() and new_form.is_valid():
        if len(formset.forms) != len(items):
            messages.error(request, _("The list changed while you were editing. Check it and save again."))
            return redirect("sessions:fidelity_items", organisation.slug)
        changes = {item.pk: form.cleaned_data for item, form in zip(items, formset.forms, strict=True)}
        try:
            services.fidelity_items_save(
                organisation=organisation,
                changes=changes,
                new_label=new_form.cleaned_data["new_label"],
                by=request.user,
                request=request,
            )
        except ValidationError as exc:
            _add_errors(new_form, exc)
        else:
            messages.success(request, _("Checklist saved."))
            return redirect("sessions:fidelity_items", organisation.slug)
    return render(
        request,
        "sessions/fidelity_items.html",
        {
            "organisation": organisation,
            "formset": formset,
            "new_form": new_form,
            "rows": list(zip(items, formset.forms, strict=False)),
        },
    )


# --- Members ----------------------------------------------------------------------------------


@consent_required
@require_GET
def member_upcoming(request: HttpRequest, organisation) -> HttpResponse:
    return render(
        request,
        "sessions/member_upcoming.html",
        {
            "organisation": organisation,
            "upcoming": selectors.upcoming_for_member(request.user, organisation),
            "link_minutes": int(selectors.LINK_OPENS_BEFORE.total_seconds() // 60),
        },
    )


@consent_required
@require_POST
def apologies(request: HttpRequest, organisation, session_id: int) -> HttpResponse:
    """A member sends (or takes back) their apologies for one session of a group where they are active."""
    session = selectors.member_session(request.user, organisation, session_id)
    if session is None:
        raise Http404("No such session.")
    take_back = request.POST.get("action") == "take_back"
    try:
        if take_back:
            services.apologies_take_back(session=session, user=request.user, request=request)
        else:
            services.apologies_send(session=session, user=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if take_back:
            messages.success(request, _("Your apologies are taken back: see you there."))
        else:
            messages.success(request, _("Your apologies are sent. Your facilitator sees them on the register."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("sessions:member_upcoming", args=[organisation.slug])
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    prefs = selectors.preferences_of(request.user)
    reminders_form = RemindersForm(
        request.POST if request.POST.get("action") == "reminders" else None,
        initial={"email_reminders": prefs.email_reminders if prefs else True},
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            services.calendar_token_create(user=request.user, request=request)
            messages.success(request, _("Your calendar address is ready. Any earlier address no longer works."))
        elif action == "revoke":
            services.calendar_token_revoke(user=request.user, request=request)
            messages.success(request, _("Your calendar address is switched off."))
        elif action == "reminders" and reminders_form.is_valid():
            services.reminders_set(user=request.user, email_reminders=reminders_form.cleaned_data["email_reminders"])
            messages.success(request, _("Your reminder choice is saved."))
        return redirect("sessions:calendar_settings")
    feed_url = ""
    if prefs and prefs.calendar_token:
        feed_url = request.build_absolute_uri(_feed_path(prefs.calendar_token))
    return render(request, "sessions/calendar_settings.html", {"feed_url": feed_url, "reminders_form": reminders_form})


def _feed_path(token: str) -> str:
    return reverse("sessions:calendar_feed", args=[token])


@never_cache
@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The member's sessions as ICS. No login (calendar apps cannot sign in): the token is the key."""
    user = selectors.feed_owner(token)
    if user is None:
        raise Http404("No such calendar.")
    response = HttpResponse(calendar.member_feed(user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
