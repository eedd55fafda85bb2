"""Redis as a cache that may fail: an outage means "no cache" for a moment, never an error.

Nothing the site keeps in the cache is the only copy of anything (sessions live in the
database), so a failing Redis costs speed, not data. Every call has short socket timeouts
(`REDIS_TIMEOUT`, set in settings); after a failure this process stops asking Redis for
`COOLDOWN` seconds, so a hung Redis costs one timeout per process and pause, not one per call.
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Seconds without Redis after a failure before the next call tries it again.
COOLDOWN = 5.0
# Per Redis location, for the whole process: Django keeps one cache object per thread, and
# one thread's timeout should spare the others theirs.
_resting_until: dict[str, float] = {}


def _degrades_to(fallback: Callable[..., Any]) -> Callable[[Callable], Callable]:
    """Run the cache call unless Redis is resting; on a Redis error, rest and fall back."""

    def decorate(method: Callable) -> Callable:
        @functools.wraps(method)
        def wrapper(self: "ResilientRedisCache", *args: Any, **kwargs: Any) -> Any:
            if time.monotonic() < _resting_until.get(self.location, 0.0):
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except RedisError as exc:
                self.rest(exc)
                return fallback(*args, **kwargs)

        return wrapper

    return decorate


def _default(key: str, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _none(*args: Any, **kwargs: Any) -> None:
    return None


def _no_values(keys: Any, *args: Any, **kwargs: Any) -> dict:
    return {}


def _all_failed(data: dict, *args: Any, **kwargs: Any) -> list:
    return list(data)


class ResilientRedisCache(RedisCache):
    """Django's Redis cache; on Redis errors it answers like an empty cache and logs once."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.location = server

    def rest(self, exc: BaseException) -> None:
        _resting_until[self.location] = time.monotonic() + COOLDOWN
        logger.warning(
            "Redis unreachable (%s); working without the cache for %.0f s.",
            type(exc).__name__,
            COOLDOWN,
        )

    get = _degrades_to(_default)(RedisCache.get)
    get_many = _degrades_to(_no_values)(RedisCache.get_many)
    has_key = _degrades_to(_false)(RedisCache.has_key)
    add = _degrades_to(_false)(RedisCache.add)
    set = _degrades_to(_none)(RedisCache.set)
    touch = _degrades_to(_false)(RedisCache.touch)
    delete = _degrades_to(_false)(RedisCache.delete)
    set_many = _degrades_to(_all_failed)(RedisCache.set_many)
    delete_many = _degrades_to(_none)(RedisCache.delete_many)
    clear = _degrades_to(_false)(RedisCache.clear)

    def ping(self) -> bool:
        """Ask Redis itself, bypassing the fallback (for the readiness check)."""
        return bool(self._cache.get_client(write=True).ping())

    def wake(self) -> None:
        """Try Redis again on the next call (after the readiness check saw it answer)."""
        _resting_until.pop(self.location, None)
