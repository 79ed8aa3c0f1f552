"""The default cache: Redis, falling back to a database table while Redis cannot be reached.

allauth keeps its rate-limit counters (sign-in, sign-up, password reset) in the default cache. With Redis
alone, a Redis outage made every sign-in a server error; with this backend the counters move to the
``peersupport_cache_fallback`` table (created by a migration, the layout of Django's ``DatabaseCache``)
until Redis answers again. The switch is logged once each way.

After a failure Redis is not asked again for ``RETRY_AFTER`` seconds (default 10), so a page does not wait
for a refused or timed-out connection on every cache call. The state is per process. Values written during
the outage stay in the table and are not copied back: a counter restarts when Redis returns, which only
loosens a limit for one window.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

FALLBACK_TABLE = "peersupport_cache_fallback"
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

_down_until: dict[str, float] = {}
_state_lock = threading.Lock()

_DELEGATED = (
    "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "decr",
    "set_many", "delete_many", "clear", "get_or_set",
)  # fmt: skip


class FailoverCache(BaseCache):
    """``LOCATION`` is the Redis URL; ``OPTIONS`` go to Django's ``RedisCache``; ``RETRY_AFTER`` in seconds."""

    def __init__(self, location: str, params: dict):
        shared = {key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION", "KEY_FUNCTION") if key in params}
        super().__init__(shared)
        self.location = location
        self.primary = RedisCache(location, {**shared, "OPTIONS": params.get("OPTIONS", {})})
        self.fallback = DatabaseCache(params.get("FALLBACK_TABLE", FALLBACK_TABLE), shared)
        self.retry_after = float(params.get("RETRY_AFTER", 10))

    def primary_is_up(self) -> bool:
        """Whether Redis is being used (not in its back-off after a failure)."""
        return _down_until.get(self.location, 0.0) <= time.monotonic()

    def _mark_down(self, exc: BaseException) -> None:
        with _state_lock:
            first = self.location not in _down_until
            _down_until[self.location] = time.monotonic() + self.retry_after
        if first:
            logger.warning(
                "Cache unreachable (%s): rate limits and cached values use the database table %s until it answers",
                exc,
                self.fallback._table,
            )

    def _mark_up(self) -> None:
        with _state_lock:
            was_down = _down_until.pop(self.location, None) is not None
        if was_down:
            logger.warning("Cache reachable again: back from the database table %s", self.fallback._table)

    def _call(self, name: str, *args, **kwargs):
        if self.primary_is_up():
            try:
                result = getattr(self.primary, name)(*args, **kwargs)
            except UNREACHABLE as exc:
                self._mark_down(exc)
            else:
                if self.location in _down_until:
                    self._mark_up()
                return result
        return getattr(self.fallback, name)(*args, **kwargs)

    def close(self, **kwargs) -> None:
        self.primary.close(**kwargs)
        self.fallback.close(**kwargs)


def _delegate(name: str):
    def method(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}`` on Redis, or on the database table while Redis is unreachable."
    return method


for _name in _DELEGATED:
    setattr(FailoverCache, _name, _delegate(_name))


def primary_of(cache: BaseCache) -> BaseCache:
    """The cache to probe for /health/: Redis itself, whatever the failover is using."""
    return getattr(cache, "primary", cache)
