"""Partials for other apps' pages: the member and facilitator dashboards and the group page.

{% load sessions_tags %}
{% member_upcoming_sessions organisation %}   member dashboard
{% facilitator_sessions organisation %}       facilitator dashboard
{% group_sessions group %}                    group page
"""

from __future__ import annotations

from django import template

from peersupport.pagination import page_of

from .. import selectors
from ..permissions import can_manage_sessions

register = template.Library()


@register.inclusion_tag("sessions/_member_upcoming.html", takes_context=True)
def member_upcoming_sessions(context, organisation, limit: int = 5):
    request = context["request"]
    return {
        "request": request,
        "user": request.user,
        "organisation": organisation,
        "upcoming": selectors.upcoming_for_member(request.user, organisation, limit=limit),
        "link_minutes": int(selectors.LINK_OPENS_BEFORE.total_seconds() // 60),
        "show_all_link": True,
    }


@register.inclusion_tag("sessions/_facilitator_sessions.html", takes_context=True)
def facilitator_sessions(context, organisation):
    request = context["request"]
    page = page_of(request, selectors.groups_facilitated_by(request.user, organisation), param="facilitated")
    return {
        "request": request,
        "organisation": organisation,
        "page": page,
        "facilitated": selectors.facilitated_groups(request.user, organisation, groups=page),
    }


@register.inclusion_tag("sessions/_group_sessions.html", takes_context=True)
def group_sessions(context, group, limit: int = 5):
    request = context["request"]
    return {
        "request": request,
        "group": group,
        "organisation": group.organisation,
        "sessions": selectors.upcoming_of_group(group, limit=limit),
        "can_manage": can_manage_sessions(request.user, group),
    }
