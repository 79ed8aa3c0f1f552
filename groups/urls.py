from django.urls import path

from . import public_views, views

app_name = "groups"

urlpatterns = [
    # Facilitators and leads
    path("o/<slug:slug>/groups/", views.group_list, name="list"),
    path("o/<slug:slug>/groups/new/", views.group_create, name="create"),
    path("o/<slug:slug>/groups/<int:group_id>/", views.group_detail, name="detail"),
    path("o/<slug:slug>/groups/<int:group_id>/edit/", views.group_edit, name="edit"),
    path("o/<slug:slug>/groups/<int:group_id>/status/", views.group_status, name="status"),
    path("o/<slug:slug>/groups/<int:group_id>/code/", views.group_renew_code, name="renew_code"),
    path(
        "o/<slug:slug>/groups/<int:group_id>/members/<int:membership_id>/approve/",
        views.request_approve,
        name="request_approve",
    ),
    path(
        "o/<slug:slug>/groups/<int:group_id>/members/<int:membership_id>/decline/",
        views.request_decline,
        name="request_decline",
    ),
    path(
        "o/<slug:slug>/groups/<int:group_id>/members/<int:membership_id>/complete/",
        views.membership_complete,
        name="membership_complete",
    ),
    path(
        "o/<slug:slug>/groups/<int:group_id>/members/<int:membership_id>/remove/",
        views.membership_remove,
        name="membership_remove",
    ),
    # Curricula: leads manage, facilitators read
    path("o/<slug:slug>/curricula/", views.curriculum_list, name="curricula"),
    path("o/<slug:slug>/curricula/new/", views.curriculum_create, name="curriculum_create"),
    path("o/<slug:slug>/curricula/starter/", views.starter_curricula_load, name="starter_curricula"),
    path("o/<slug:slug>/curricula/<int:curriculum_id>/", views.curriculum_detail, name="curriculum_detail"),
    path(
        "o/<slug:slug>/curricula/<int:curriculum_id>/new-version/",
        views.curriculum_new_version,
        name="curriculum_new_version",
    ),
    # Members
    path("o/<slug:slug>/my-groups/join/", views.join_code, name="join_code"),
    path("o/<slug:slug>/my-groups/open/", views.open_groups, name="open"),
    path("o/<slug:slug>/my-groups/<int:group_id>/ask/", views.ask_to_join, name="ask"),
    path("o/<slug:slug>/my-groups/<int:group_id>/leave/", views.leave, name="leave"),
    path("groups/join/<str:token>/", views.join_link, name="join_link"),
    # The front door: anyone, signed in or not
    path("p/<slug:slug>/", public_views.public_page, name="public"),
    path("p/<slug:slug>/groups/<int:group_id>/ask/", public_views.ask_group, name="public_ask"),
    path("join/", public_views.join_start, name="join_start"),
    path("join/<str:code>/", public_views.join_group, name="join_group"),
]
