"""When would this choice start? The scheduler's answer, on a budget.

The estimate is Slurm's own: ``sbatch --test-only`` run *as the user* (their
priority, their limits), with the sbatch arguments the real submission would
use (:meth:`~sdcc_lab.hub.slurm.SlurmSessionSpawner.test_only`). Nothing is
queued. Whatever the number of users, the hub asks Slurm within a budget:

- an answer is reused per (user, request shape) for ``cache_ttl`` seconds, and
  callers asking the same question meanwhile share the one command in flight;
- at most ``max_concurrent`` test submissions run hub-wide at once, and at most
  ``max_per_minute`` start in any minute;
- at most one per user per ``user_interval`` seconds.

A question over budget is not queued (a form must never wait on a queue of
other users' questions): it gets a partition-level answer from data already
cached (``source: "cached"``): the latest Slurm answer for that partition, or the
free resources read cluster-wide (:meth:`SlurmDiscovery.free_resources`). A
scheduler that does not answer gives ``source: "unavailable"`` and a reason.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Literal

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ..scheduler.errors import SchedulerError, SchedulerRefused, SchedulerUnavailable
from ..scheduler.slurm.testonly import parse_test_only, refusal_reason

Source = Literal["slurm", "cached", "unavailable"]
#: Runs ``sbatch --test-only`` as the user for validated options; returns what sbatch
#: printed (stdout and stderr joined); raises SchedulerError like every command.
TestSubmit = Callable[[dict[str, Any]], Awaitable[str]]
#: Free resources of one partition: {"cpus": int, "memory_mib": int, "gpus": int, ...}.
FreeLookup = Callable[[str], Awaitable[Mapping[str, int] | None]]

# The options that change the scheduler's answer (the request shape).
SHAPE_KEYS = ("partition", "account", "qos", "gpu", "gpus", "cpus", "memory", "runtime")


@dataclass(frozen=True)
class StartEstimate:
    """The expected start of one choice. ``reason``: why not now, in Slurm's words."""

    starts_now: bool
    start: datetime | None
    reason: str | None
    source: Source

    def to_json(self) -> dict[str, Any]:
        return {
            "starts_now": self.starts_now,
            "start": self.start.isoformat().replace("+00:00", "Z") if self.start else None,
            "reason": self.reason,
            "source": self.source,
        }


def request_shape(options: Mapping[str, Any]) -> tuple[Any, ...]:
    """The part of validated options that the scheduler's answer depends on."""
    return tuple(options.get(k) for k in SHAPE_KEYS)


class StartEstimator(LoggingConfigurable):
    """Hub-wide: one per hub process (``StartEstimator.shared()``), shared by all users."""

    cache_ttl = Float(
        30.0,
        min=0,
        help="""Seconds an estimate is reused for the same user and request shape.

        c.StartEstimator.cache_ttl = 60
        """,
    ).tag(config=True)
    max_concurrent = Integer(
        4,
        min=1,
        help="""Most ``sbatch --test-only`` commands running at once, hub-wide. Questions
        beyond it get a partition-level answer from cached data instead of waiting.

        c.StartEstimator.max_concurrent = 2
        """,
    ).tag(config=True)
    user_interval = Float(
        5.0,
        min=0,
        help="""Fewest seconds between two test submissions for the same user; a change
        sooner gets a partition-level answer from cached data.

        c.StartEstimator.user_interval = 10
        """,
    ).tag(config=True)
    max_per_minute = Integer(
        120,
        min=0,
        help="""Most test submissions started hub-wide in any 60 seconds (0: no such cap).
        With ``max_concurrent`` this bounds what the hub asks of slurmctld whatever the
        number of users; beyond it, answers come from cached data.

        c.StartEstimator.max_per_minute = 60
        """,
    ).tag(config=True)
    fallback_ttl = Float(
        300.0,
        min=0,
        help="""Seconds a partition's latest Slurm answer may stand in for others'
        questions on that partition while the budget is spent.

        c.StartEstimator.fallback_ttl = 120
        """,
    ).tag(config=True)
    now_slack = Float(
        15.0,
        min=0,
        help="""A start this many seconds from now or sooner is shown as "Starts now"
        (Slurm answers an idle node with the time of the question, give or take the
        command's own run time).

        c.StartEstimator.now_slack = 30
        """,
    ).tag(config=True)

    _shared: ClassVar[StartEstimator | None] = None
    #: How many test submissions ran and how many answers each source gave (tests, benchmarks).
    counts: Counter[str]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.counts = Counter()
        self.clock: Callable[[], float] = time.monotonic
        self._answers: dict[tuple[Any, ...], tuple[float, StartEstimate]] = {}
        self._inflight: dict[tuple[Any, ...], asyncio.Future[StartEstimate]] = {}
        self._last_asked: dict[str, float] = {}
        self._by_partition: dict[str, tuple[float, StartEstimate]] = {}
        self._running = 0
        self._semaphore: asyncio.Semaphore | None = None
        self._started: deque[float] = deque()  # clock times of the last minute's submissions

    @classmethod
    def shared(cls, **kwargs: Any) -> StartEstimator:
        """The hub's estimator (made on first use, with the hub's config via ``parent``)."""
        if cls._shared is None:
            cls._shared = cls(**kwargs)
        return cls._shared

    @classmethod
    def forget(cls) -> None:
        """Drop the hub's estimator and everything it remembered (tests)."""
        cls._shared = None

    @property
    def running(self) -> int:
        """Test submissions running now."""
        return self._running

    def _now(self) -> datetime:
        return datetime.now(timezone.utc)

    def _from_start(self, start: datetime) -> StartEstimate:
        if start <= self._now() + timedelta(seconds=self.now_slack):
            return StartEstimate(True, start, None, "slurm")
        return StartEstimate(False, start, None, "slurm")

    async def estimate(
        self,
        user_name: str,
        options: Mapping[str, Any],
        submit: TestSubmit | None = None,
        free: FreeLookup | None = None,
    ) -> StartEstimate:
        """The expected start of ``options`` (already validated) for ``user_name``.

        ``submit`` runs the test submission as that user (the form spawner passes
        :meth:`FormSpawner.test_submit`); ``free`` gives a partition's free
        resources for the fallback. Without ``submit``, the answer comes from
        cached data only.
        """
        key = (user_name, *request_shape(options))
        stored = self._answers.get(key)
        now = self.clock()
        if stored is not None and stored[0] > now:
            self.counts["cache_hit"] += 1
            return stored[1]
        inflight = self._inflight.get(key)
        if inflight is not None:
            self.counts["joined"] += 1
            return await asyncio.shield(inflight)
        last = self._last_asked.get(user_name)
        if submit is None:
            return await self._fallback(options, free, "no test submission is possible here")
        if last is not None and now - last < self.user_interval:
            self.counts["rate_limited"] += 1
            return await self._fallback(options, free, "asked again too soon")
        if self._running >= self.max_concurrent:
            self.counts["budget_full"] += 1
            return await self._fallback(options, free, "the scheduler is busy")
        while self._started and now - self._started[0] >= 60:
            self._started.popleft()
        if self.max_per_minute and len(self._started) >= self.max_per_minute:
            self.counts["minute_full"] += 1
            return await self._fallback(options, free, "many people are asking right now")
        self._started.append(now)
        self._last_asked[user_name] = now
        # Counted now, not when the task starts: callers arriving in the same loop turn
        # must see it, or all of them would pass the check above.
        self._running += 1
        future = asyncio.ensure_future(self._ask(key, options, submit))
        self._inflight[key] = future
        # shield: a closed tab does not cancel the answer others may join.
        return await asyncio.shield(future)

    async def _ask(
        self, key: tuple[Any, ...], options: Mapping[str, Any], submit: TestSubmit
    ) -> StartEstimate:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrent)
        try:
            async with self._semaphore:
                self.counts["test_submissions"] += 1
                answer = await self._run(options, submit)
        finally:
            self._running -= 1
            del self._inflight[key]
        if answer.source == "slurm":
            at = self.clock()
            self._answers[key] = (at + self.cache_ttl, answer)
            partition = str(options.get("partition") or "")
            if answer.start is not None and partition:
                self._by_partition[partition] = (at, answer)
        return answer

    async def _run(self, options: Mapping[str, Any], submit: TestSubmit) -> StartEstimate:
        try:
            out = await submit(dict(options))
        except SchedulerUnavailable as e:
            self.counts["unavailable"] += 1
            return StartEstimate(False, None, f"Slurm is not answering: {e}", "unavailable")
        except SchedulerRefused as e:
            self.counts["refused"] += 1
            return StartEstimate(False, None, refusal_reason(e.output or str(e)), "slurm")
        except SchedulerError as e:
            self.counts["unavailable"] += 1
            return StartEstimate(False, None, f"no estimate: {e}", "unavailable")
        try:
            will_run = parse_test_only(out)
        except SchedulerError as e:
            self.counts["unavailable"] += 1
            return StartEstimate(False, None, f"no estimate: {e}", "unavailable")
        return self._from_start(will_run.start)

    async def _fallback(
        self, options: Mapping[str, Any], free: FreeLookup | None, why: str
    ) -> StartEstimate:
        """A partition-level answer from cached data only (no command runs for it)."""
        self.counts["fallback"] += 1
        partition = str(options.get("partition") or "")
        available: Mapping[str, int] | None = None
        if free is not None and partition:
            try:
                available = await free(partition)
            except SchedulerError:
                available = None
            if available is not None and fits(options, available):
                return StartEstimate(True, None, None, "cached")
        seen = self._by_partition.get(partition)
        if seen is not None and self.clock() - seen[0] <= self.fallback_ttl:
            answer = seen[1]
            if answer.start is not None and answer.start <= self._now():
                answer = replace(answer, start=None)
            return replace(answer, source="cached", reason=answer.reason)
        if available is not None:
            why = f"no free node fits it now, and {why}"
        return StartEstimate(False, None, f"No estimate right now ({why}).", "cached")


def fits(options: Mapping[str, Any], free: Mapping[str, int]) -> bool:
    """Whether a one-node request fits the free resources of a node of its partition."""
    cpus = int(options.get("cpus") or 1)
    memory = int(options.get("memory") or 0)
    gpus = int(options.get("gpus") or 0)
    return (
        free.get("node_cpus", free.get("cpus", 0)) >= cpus
        and free.get("node_memory_mib", free.get("memory_mib", 0)) >= memory
        and free.get("node_gpus", free.get("gpus", 0)) >= gpus
    )


__all__ = ["FreeLookup", "StartEstimate", "StartEstimator", "TestSubmit", "fits", "request_shape"]
