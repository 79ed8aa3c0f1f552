from django.urls import path

from . import views

app_name = "sessions"

urlpatterns = [
    path("o/<slug:slug>/sessions/group/<int:group_id>/", views.schedule, name="schedule"),
    path("o/<slug:slug>/sessions/group/<int:group_id>/generate/", views.generate, name="generate"),
    path("o/<slug:slug>/sessions/group/<int:group_id>/contacts/", views.contacts, name="contacts"),
    path("o/<slug:slug>/sessions/<int:session_id>/edit/", views.edit, name="edit"),
    path("o/<slug:slug>/sessions/<int:session_id>/cancel/", views.cancel, name="cancel"),
    path("o/<slug:slug>/sessions/<int:session_id>/register/", views.register, name="register"),
    path("o/<slug:slug>/sessions/<int:session_id>/log/", views.log, name="log"),
    path("o/<slug:slug>/sessions/fidelity/", views.fidelity_items, name="fidelity_items"),
    path("o/<slug:slug>/sessions/upcoming/", views.member_upcoming, name="member_upcoming"),
    path("o/<slug:slug>/sessions/<int:session_id>/apologies/", views.apologies, name="apologies"),
    path("sessions/calendar/", views.calendar_settings, name="calendar_settings"),
    path("sessions/calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
]
