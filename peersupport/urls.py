from django.contrib import admin
from django.urls import include, path

from . import views

# A page that fails because the database is down answers 503 with Retry-After (peersupport.middleware).
handler500 = "peersupport.middleware.server_error_or_unavailable"

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", views.favicon, name="favicon"),
    path("profile/", views.profile, name="profile"),
    path("profile/data/", views.data_download, name="data_download"),
    path("profile/erasure/", views.erasure_request, name="erasure_request"),
    path("profile/second-factor/", views.second_factor_required, name="second_factor_required"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("o/<slug:slug>/", views.member_dashboard, name="member_dashboard"),
    path("o/<slug:slug>/consent/", views.consent, name="consent"),
    path("o/<slug:slug>/consent/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("o/<slug:slug>/facilitator/", views.facilitator_dashboard, name="facilitator_dashboard"),
    path("o/<slug:slug>/lead/", views.lead_dashboard, name="lead_dashboard"),
    path("o/<slug:slug>/lead/settings/", views.lead_settings, name="lead_settings"),
    path("o/<slug:slug>/lead/erasure-requests/", views.lead_erasure_requests, name="lead_erasure_requests"),
    path(
        "o/<slug:slug>/lead/erasure-requests/<int:request_id>/",
        views.lead_erasure_decide,
        name="lead_erasure_decide",
    ),
    path("o/<slug:slug>/lead/roles/<int:role_id>/remove/", views.role_remove, name="role_remove"),
    path("", include("groups.urls")),
    path("", include("outcomes.urls")),
    path("", include("sessions.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
