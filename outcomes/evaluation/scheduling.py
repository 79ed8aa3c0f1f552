"""Queueing a recompute: the one module that asks the broker for ``outcomes.tasks.recompute_organisation``.

A burst of marks shares one recompute: one is queued per organisation at a time (a cache key), a short while
later, and it recomputes every stale cohort then (see docs/architecture.md)."""

from __future__ import annotations

import logging

from django.core.cache import cache

from peersupport.jobs import BROKER_ERRORS, enqueue

logger = logging.getLogger(__name__)


COALESCE_SECONDS = 0.1  # a burst of submits within this shares one recompute (see docs/architecture.md)


def scheduled_key(organisation_id: int) -> str:
    return f"outcomes:recompute-scheduled:{organisation_id}"


def schedule_recompute(organisation_id: int) -> bool:
    """Queue one recompute of the organisation's stale cohorts unless one is already queued.

    Never raises into the caller (a submit's page): with the cache or the broker down the figures stay stale,
    and the sweep recomputes them when it can."""
    try:
        if not cache.add(scheduled_key(organisation_id), "1", timeout=60):
            return False
    except BROKER_ERRORS as exc:  # Redis is the cache too: without it, queue anyway (a duplicate is harmless)
        logger.warning("Could not note the recompute of organisation %s in the cache: %s", organisation_id, exc)
    # In the background where there is no worker (``make run``): the figures' protection takes seconds.
    queued = enqueue(
        "outcomes.tasks.recompute_organisation", organisation_id, countdown=COALESCE_SECONDS, background=True
    )
    return bool(queued)
