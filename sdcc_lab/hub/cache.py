"""A small async cache: values live for a TTL, and concurrent callers share one fetch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class AsyncTTLCache(Generic[K, V]):
    """``await cache.get(key, fetch)``: a cached value, or one fetch shared by all waiters.

    Failures are remembered for ``error_ttl`` seconds so that a scheduler that
    does not answer is not asked again by every login in the meantime.
    """

    def __init__(self, ttl: float, error_ttl: float = 30.0) -> None:
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._values: dict[K, tuple[float, V | BaseException]] = {}
        self._inflight: dict[K, asyncio.Future[V]] = {}

    def clear(self) -> None:
        self._values.clear()

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        cached = self._values.get(key)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], BaseException):
                raise cached[1]
            return cached[1]
        inflight = self._inflight.get(key)
        if inflight is not None:
            return await asyncio.shield(inflight)
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
        except Exception as e:
            self._values[key] = (time.monotonic() + self.error_ttl, e)
            future.set_exception(e)
            future.exception()  # mark retrieved: waiters may be none
            raise
        else:
            self._values[key] = (time.monotonic() + self.ttl, value)
            future.set_result(value)
            return value
        finally:
            del self._inflight[key]
