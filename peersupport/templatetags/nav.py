"""``{% nav_link href label %}``: a navigation link that says so (``aria-current="page"``) when it is the page shown."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context, href: str, label: str) -> str:
    request = context.get("request")
    if request is not None and request.path == href:
        return format_html('<a class="nav-link active" href="{}" aria-current="page">{}</a>', href, label)
    return format_html('<a class="nav-link" href="{}">{}</a>', href, label)
