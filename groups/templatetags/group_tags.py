"""Group sections for the dashboards: ``{% load group_tags %}{% member_groups_section organisation %}``."""

from __future__ import annotations

from django import template

from groups import selectors
from groups.permissions import is_lead
from peersupport.pagination import page_of

register = template.Library()


@register.inclusion_tag("groups/_member_groups.html", takes_context=True)
def member_groups_section(context, organisation):
    """The member's current groups, the join-by-code form and the way to open groups."""
    user = context["request"].user
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "organisation": organisation,
        "memberships": list(selectors.member_groups(user, organisation)),
        "past": list(selectors.member_past_groups(user, organisation)),
    }


@register.inclusion_tag("groups/_staff_groups.html", takes_context=True)
def staff_groups_section(context, organisation):
    """The groups a facilitator runs (a lead: all), with size, waiting list, next session and attendance."""
    user = context["request"].user
    return {
        "request": context["request"],
        "organisation": organisation,
        "groups": page_of(context["request"], selectors.groups_overview(user, organisation), param="groups"),
        "page_param": "groups",
        "page_anchor": "staff-groups-heading",
        "is_lead": is_lead(user, organisation),
    }
