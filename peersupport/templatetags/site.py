"""``{% site_signature %}``: the site's name and address, for an e-mail not sent through ``queue_email``."""

from __future__ import annotations

from django import template

from peersupport.mail import signature

register = template.Library()


@register.simple_tag
def site_signature() -> str:
    return signature().lstrip("\n")
