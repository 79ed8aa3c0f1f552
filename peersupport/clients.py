"""Who a request comes from: the client address, the same for rate limits and the audit trail.

By default the address is ``REMOTE_ADDR``: an ``X-Forwarded-For`` header is written by whoever sends the
request, so trusting it without a proxy in front would let anyone choose their address (and dodge a limit).
Behind reverse proxies set ``TRUSTED_PROXY_COUNT`` (allauth's ``ALLAUTH_TRUSTED_PROXY_COUNT``) to their
number: the client is then the address that many entries from the right of ``X-Forwarded-For``, the one
your outermost proxy saw. A request with fewer entries than that did not come through all the proxies: its
``REMOTE_ADDR`` is used and a warning logged.
"""

from __future__ import annotations

import logging

from allauth.core.internal.httpkit import clean_client_ip, get_client_ip
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    try:
        address = get_client_ip(request)
    except ImproperlyConfigured:
        logger.warning(
            "X-Forwarded-For has fewer entries than TRUSTED_PROXY_COUNT; using REMOTE_ADDR (%s)",
            request.META.get("REMOTE_ADDR"),
        )
        address = None
    if not address:
        remote = request.META.get("REMOTE_ADDR")
        address = clean_client_ip(remote) if remote else None
    return address
