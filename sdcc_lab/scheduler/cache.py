"""One TTL, single-flight cache for scheduler answers.

``await cache.get(key, fetch)`` returns the stored answer while it is young;
otherwise it runs ``fetch()`` once, and every caller arriving meanwhile waits
for that same fetch (one query in flight, whatever the number of logins,
tabs or polls). A failed fetch is remembered too, for ``error_ttl`` seconds
(by default as long as an answer), so that a scheduler that does not answer
is not asked again by every caller in the meantime: they get the same error.

Used by the hub's discovery (sacctmgr/scontrol per user), the resources
collector (the session's own job, re-checked per period) and the workers
endpoint (the user's worker jobs). :meth:`TTLCache.get_blocking` serves
callers that run in a thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class _Entry(Generic[V]):
    expires: float
    at: float  # clock time the fetch ended
    value: V | None
    error: BaseException | None


class TTLCache(Generic[K, V]):
    """Answers per key for ``ttl`` seconds, failures for ``error_ttl``; one fetch at a time.

    ``clock`` is the time source (monotonic seconds); tests inject their own.
    """

    def __init__(
        self,
        ttl: float,
        error_ttl: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.error_ttl = ttl if error_ttl is None else error_ttl
        self.clock = clock
        self._entries: dict[K, _Entry[V]] = {}
        self._last_values: dict[K, V] = {}
        self._inflight: dict[K, asyncio.Future[V]] = {}
        self._thread_locks: dict[K, threading.Lock] = {}
        self._guard = threading.Lock()

    # -- reading -----------------------------------------------------------------
    def _young(self, key: K) -> _Entry[V] | None:
        entry = self._entries.get(key)
        return entry if entry is not None and entry.expires > self.clock() else None

    @staticmethod
    def _answer(entry: _Entry[V]) -> V:
        if entry.error is not None:
            raise entry.error
        return entry.value  # type: ignore[return-value]  # a value entry holds a V

    def _store(self, key: K, value: V | None, error: BaseException | None) -> None:
        now = self.clock()
        ttl = self.error_ttl if error is not None else self.ttl
        self._entries[key] = _Entry(now + ttl, now, value, error)
        if error is None:
            self._last_values[key] = value  # type: ignore[assignment]

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]], *, fresh: bool = False) -> V:
        """The answer for ``key``: stored (unless ``fresh``), or the one fetch in flight.

        ``fresh`` skips a stored answer, not a fetch already running (joining
        it is as fresh as a new one).
        """
        inflight = self._inflight.get(key)
        if inflight is None:
            entry = None if fresh else self._young(key)
            if entry is not None:
                return self._answer(entry)
            inflight = asyncio.ensure_future(self._fetch(key, fetch))
            self._inflight[key] = inflight
        # shield: a caller that goes away (a closed tab) does not cancel the others' fetch.
        return await asyncio.shield(inflight)

    async def _fetch(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await fetch()
        except Exception as e:
            self._store(key, None, e)
            raise
        else:
            self._store(key, value, None)
            return value
        finally:
            del self._inflight[key]

    def get_blocking(self, key: K, fetch: Callable[[], V], *, fresh: bool = False) -> V:
        """:meth:`get` for callers in threads: ``fetch`` is blocking; one runs per key."""
        with self._guard:
            lock = self._thread_locks.setdefault(key, threading.Lock())
        asked_at = self.clock()
        with lock:
            entry = self._entries.get(key)
            # Someone fetched while we waited for the lock: that answer is fresh enough.
            if entry is not None and (
                entry.at >= asked_at or (not fresh and entry.expires > self.clock())
            ):
                return self._answer(entry)
            try:
                value = fetch()
            except Exception as e:
                self._store(key, None, e)
                raise
            self._store(key, value, None)
            return value

    def last_value(self, key: K) -> V | None:
        """The last successful answer, however old (``None`` if there never was one)."""
        return self._last_values.get(key)

    def fetched_at(self, key: K) -> float | None:
        """Clock time the last fetch for ``key`` ended, answer or failure."""
        entry = self._entries.get(key)
        return entry.at if entry is not None else None

    # -- forgetting --------------------------------------------------------------
    def invalidate(self, key: K) -> None:
        """Forget the stored answer: the next :meth:`get` asks again."""
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


__all__ = ["TTLCache"]
