"""Home, dashboards, consent, invitations, profile and health. Thin: rules live in services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import datarights, secondfactor, selectors, services
from . import health as health_checks
from .forms import (
    ConsentVersionForm,
    ErasureDecisionForm,
    ErasureRequestForm,
    InvitationForm,
    OrganisationSettingsForm,
    ProfileForm,
)
from .models import ErasureRequest, ErasureStatus, Organisation, Role, RoleKind
from .pagination import page_of
from .permissions import Perm, organisation_for


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "peersupport/landing.html")
    return render(request, "peersupport/home.html", {"memberships": selectors.organisations_of(request.user)})


def consent_required(view):
    """Member pages: 404 without the member role, the consent page until the current version is accepted."""

    @login_required
    def wrapped(request: HttpRequest, slug: str, *args, **kwargs):
        organisation = organisation_for(request, slug, Perm.MEMBER_AREA)
        if not selectors.consent_is_active(user=request.user, organisation=organisation):
            url = reverse("consent", args=[organisation.slug])
            return redirect(f"{url}?next={request.get_full_path()}")
        return view(request, organisation, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@consent_required
def member_dashboard(request: HttpRequest, organisation) -> HttpResponse:
    return render(request, "peersupport/member_dashboard.html", {"organisation": organisation})


@login_required
def facilitator_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.FACILITATE)
    return render(
        request,
        "peersupport/facilitator_dashboard.html",
        {"organisation": organisation, "consented_members": selectors.consented_member_count(organisation)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def lead_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    invitation_form = InvitationForm(prefix="invite")
    consent_form = ConsentVersionForm(prefix="consent")
    if request.method == "POST":
        if "invite" in request.POST:
            invitation_form = InvitationForm(request.POST, prefix="invite")
            if invitation_form.is_valid():
                services.invitation_create(
                    organisation=organisation,
                    email=invitation_form.cleaned_data["email"],
                    kind=invitation_form.cleaned_data["kind"],
                    by=request.user,
                    request=request,
                )
                messages.success(request, _("Invitation sent to %(email)s.") % invitation_form.cleaned_data)
                return redirect("lead_dashboard", organisation.slug)
        elif "consent" in request.POST:
            consent_form = ConsentVersionForm(request.POST, prefix="consent")
            if consent_form.is_valid():
                try:
                    version = services.consent_version_publish(
                        organisation=organisation, by=request.user, request=request, **consent_form.cleaned_data
                    )
                except ValidationError as exc:
                    consent_form.add_error(None, exc)
                else:
                    messages.success(request, _("Consent version %(v)s published.") % {"v": version.version})
                    return redirect("lead_dashboard", organisation.slug)
    context = {
        "organisation": organisation,
        "role_counts": selectors.role_counts(organisation),
        "consented_members": selectors.consented_member_count(organisation),
        "people": page_of(request, selectors.people_in(organisation), param="people"),
        "invitations": page_of(request, selectors.pending_invitations(organisation), param="invitations"),
        "consent_versions": organisation.consent_versions.all()[:5],
        "current_consent": selectors.consent_current_version(organisation),
        "invitation_form": invitation_form,
        "consent_form": consent_form,
    }
    return render(request, "peersupport/lead_dashboard.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def lead_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The organisation's settings: name, zone, crisis text, when unacknowledged risk alerts escalate."""
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    form = OrganisationSettingsForm(request.POST or None, instance=Organisation.objects.get(pk=organisation.pk))
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.Meta.fields}
        changed = services.organisation_settings_update(
            organisation=organisation, changes=changes, by=request.user, request=request
        )
        if changed:
            messages.success(request, _("Settings saved."))
        else:
            messages.info(request, _("Nothing was changed."))
        return redirect("lead_settings", organisation.slug)
    return render(request, "peersupport/lead_settings.html", {"organisation": organisation, "form": form})


@login_required
@require_POST
def role_remove(request: HttpRequest, slug: str, role_id: int) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    role = Role.objects.filter(pk=role_id, organisation=organisation).select_related("user", "organisation").first()
    if role is None:
        messages.error(request, _("That role no longer exists."))
    elif role.user_id == request.user.pk and role.kind == RoleKind.LEAD:
        messages.error(request, _("You cannot remove your own lead role. Ask another lead."))
    else:
        services.role_remove(role=role, by=request.user, request=request)
        messages.success(request, _("Role removed."))
    return redirect("lead_dashboard", organisation.slug)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MEMBER_AREA)
    version = selectors.consent_current_version(organisation)
    active = selectors.consent_is_active(user=request.user, organisation=organisation)
    if request.method == "POST" and version is not None:
        if request.POST.get("accept") != "yes":
            messages.error(request, _("Tick the box to say you agree, or leave this page if you do not."))
        else:
            services.consent_give(user=request.user, version=version, request=request)
            messages.success(request, _("Thank you. Your consent is recorded."))
            return redirect(_safe_next(request, reverse("member_dashboard", args=[organisation.slug])))
    latest = selectors.consent_latest_decision(user=request.user, organisation=organisation)
    return render(
        request,
        "peersupport/consent.html",
        {
            "organisation": organisation,
            "version": version,
            "active": active,
            "latest": latest,
            "next": _safe_next(request, ""),
        },
    )


@login_required
@require_POST
def consent_withdraw(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MEMBER_AREA)
    try:
        services.consent_withdraw(user=request.user, organisation=organisation, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _(
                "Your consent is withdrawn. We will not collect new information from you. "
                "What was collected before is kept unless you ask us to erase it, from your profile."
            ),
        )
    return redirect("consent", organisation.slug)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationError as exc:
        return render(request, "peersupport/invitation_invalid.html", {"reason": str(exc)}, status=410)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        return render(request, "peersupport/invitation.html", {"invitation": invitation})
    if request.method == "POST":
        try:
            role = services.invitation_accept(token=token, user=request.user, request=request)
        except services.InvitationError as exc:
            return render(request, "peersupport/invitation_invalid.html", {"reason": str(exc)}, status=410)
        messages.success(
            request,
            _("You joined %(organisation)s as %(role)s.")
            % {"organisation": role.organisation.name, "role": role.get_kind_display().lower()},
        )
        return redirect("home")
    return render(request, "peersupport/invitation.html", {"invitation": invitation})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile is saved."))
        return redirect("profile")
    return render(request, "peersupport/profile.html", {"form": form})


@never_cache
@login_required
@require_GET
def data_download(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own data, one zip (JSON and CSV): there is no way to ask for anyone else's."""
    name, content = datarights.download_zip(request.user, request=request)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def erasure_request(request: HttpRequest) -> HttpResponse:
    """What an erasure does, and the request itself (reviewed by a lead of each of the person's organisations)."""
    form = ErasureRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = datarights.erasure_request(user=request.user, reason=form.cleaned_data["reason"], request=request)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if not made:  # in no organisation: erased at once, and signed out with it
                return redirect("home")
            messages.success(request, _("Your request is sent. You will be e-mailed if it is declined."))
            return redirect("erasure_request")
    return render(
        request,
        "peersupport/erasure_request.html",
        {
            "form": form,
            "pending": list(datarights.pending_requests_of(request.user)),
            "organisations": datarights.organisations_of(request.user),
        },
    )


@login_required
@require_GET
def lead_erasure_requests(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    page = page_of(request, datarights.requests_for(organisation))
    return render(
        request,
        "peersupport/lead_erasure_requests.html",
        {"organisation": organisation, "page": page, "form": ErasureDecisionForm(), "pending": ErasureStatus.PENDING},
    )


@login_required
@require_POST
def lead_erasure_decide(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    organisation = organisation_for(request, slug, Perm.MANAGE_ORGANISATION)
    row = ErasureRequest.objects.filter(pk=request_id, organisation=organisation).first()
    if row is None:
        raise Http404("No such request.")
    form = ErasureDecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            datarights.erasure_decide(
                erasure_request=row, by=request.user, approve=approve, note=form.cleaned_data["note"], request=request
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Approved.") if approve else _("Declined: the member is e-mailed your note."))
        return redirect("lead_erasure_requests", organisation.slug)
    page = page_of(request, datarights.requests_for(organisation))
    return render(
        request,
        "peersupport/lead_erasure_requests.html",
        {
            "organisation": organisation,
            "page": page,
            "form": ErasureDecisionForm(),
            "pending": ErasureStatus.PENDING,
            "failed": row.pk,
            "failed_form": form,
        },
        status=400,
    )


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever a page's <link rel="icon"> says: send them to the site's icon."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report = health_checks.check_all()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@login_required
@require_GET
def second_factor_required(request: HttpRequest) -> HttpResponse:
    """Why a page asked for a second factor, and the way to turn one on (peersupport.secondfactor)."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    return render(
        request,
        "peersupport/second_factor_required.html",
        {"next_url": next_url, "enrolled": secondfactor.has_second_factor(request.user)},
    )
