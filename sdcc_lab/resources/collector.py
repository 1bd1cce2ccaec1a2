"""The session's resources: every source merged, one shared cache, the re-check.

One :class:`ResourcesCollector` lives in the server process (the extension
creates it) and answers every browser tab. What it costs:

- the environment, the job/machine ads and the host are read once, at start;
- the scheduler (Slurm: ``scontrol show job -o ID``) is asked once at start
  and then at most once per :attr:`~ResourcesCollector.recheck_interval`,
  whatever the number of tabs or polls: concurrent requests wait for the one
  query in flight (single-flight), and a failed query also waits a period;
- usage (cgroup files, or the process tree) is read at most once per
  :attr:`~ResourcesCollector.usage_cache_seconds`, so many tabs polling at
  once cost one read.

All blocking work (subprocesses, files, psutil, NVML) runs in a thread.
A failing source leaves its fields ``None`` and is logged once per message.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from traitlets import Bool, Float, List, Unicode
from traitlets.config import LoggingConfigurable

from .cgroup import CgroupInfo, CgroupReader
from .facts import Facts
from .gpu import NVMLReader, visible_gpus
from .htcondor import htcondor_from_env, is_htcondor
from .local import ProcessTree, host_facts, jupyterhub_limits
from .slurm import SchedulerQueryError, SlurmQuery, slurm_from_env


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _min_source(*candidates: tuple[float | int | None, str]) -> tuple[float | int | None, str | None]:
    """The smallest known value and the name of its source."""
    known = [(v, s) for v, s in candidates if v is not None]
    if not known:
        return None, None
    return min(known, key=lambda c: c[0])


class ResourcesCollector(LoggingConfigurable):
    """Merges the session's limits and usage for ``GET sdcc-lab/api/resources``."""

    recheck_interval = Float(
        300.0,
        config=True,
        help="""Seconds between two scheduler queries for a changed time limit.

        The scheduler is asked once when the server starts, then at most once
        per period (only while someone polls), shared by all browser tabs.
        Sites ask for no less than 60-120 s: every query is an RPC to the
        controller. Example: ``c.ResourcesCollector.recheck_interval = 600``.
        """,
    )
    scheduler_timeout = Float(
        10.0,
        config=True,
        help="Seconds a scheduler query may take before it is abandoned (its fields keep their last values).",
    )
    scontrol_command = List(
        Unicode(),
        default_value=["scontrol"],
        config=True,
        help="""The command that runs ``scontrol`` (a list: program and leading arguments).

        Give a full path when the server's PATH lacks Slurm's binaries, e.g.
        ``c.ResourcesCollector.scontrol_command = ["/usr/bin/scontrol"]``.
        """,
    )
    usage_cache_seconds = Float(
        1.0,
        config=True,
        help="Seconds a usage reading is reused: polls of several tabs within this time cost one reading.",
    )
    cgroup_root = Unicode(
        "/",
        config=True,
        help="Folder standing for / when cgroup files are read (tests point it at recorded trees).",
    )
    use_nvml = Bool(
        True,
        config=True,
        help="Read GPU usage through NVML when nvidia-ml-py is installed and GPUs are visible.",
    )
    test_end_in = Float(
        None,
        allow_none=True,
        config=True,
        help="""TEST ONLY: pretend the session ends this many seconds after the server started.

        Used by the browser tests (ui-tests/jupyter_server_test_config.py reads
        SDCC_LAB_TEST_END_IN) to show a near end on a local session. Never set
        it on a real deployment: the end it shows is invented.
        """,
    )

    def __init__(
        self,
        identity: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.environ = dict(os.environ if environ is None else environ)
        self.identity = dict(identity or {"scheduler": "local", "options": {}})
        self.scheduler = self._detect_scheduler()
        self.started_at = datetime.now(timezone.utc)
        self._logged: set[str] = set()
        self._static = self._read_static()
        self._scheduler_facts: Facts | None = None
        self._checked_at: float | None = None  # monotonic time of the last query
        self._checked_wall: datetime | None = None
        self._inflight: asyncio.Future[None] | None = None
        self.query: SlurmQuery | None = None
        if self.scheduler == "slurm" and self._static.job_id:
            self.query = SlurmQuery(self._static.job_id, self.scontrol_command, self.scheduler_timeout)
        self._cgroup = CgroupReader(self.cgroup_root)
        self._tree = ProcessTree()
        self._gpu_devices = visible_gpus(self.environ)
        self._nvml: NVMLReader | None = None
        self._usage: dict[str, Any] | None = None
        self._usage_at = 0.0
        self._usage_lock = asyncio.Lock()
        self._cpu_prev: tuple[float, float, str] | None = None
        self.usage_reads = 0

    # -- identity and static facts ------------------------------------------------
    def _detect_scheduler(self) -> str:
        named = self.identity.get("scheduler")
        if named in ("slurm", "htcondor"):
            return str(named)
        if self.environ.get("SLURM_JOB_ID"):
            return "slurm"
        if is_htcondor(self.environ):
            return "htcondor"
        return "local"

    def _read_static(self) -> Facts:
        env = self.environ
        try:
            if self.scheduler == "slurm":
                return slurm_from_env(env)
            if self.scheduler == "htcondor":
                return htcondor_from_env(env)
            return jupyterhub_limits(env)
        except Exception as e:  # noqa: BLE001 - a bug in a reader must not stop the server
            self.log_once(f"sdcc_lab resources: reading the environment failed: {e!r}")
            return Facts(problems=(f"reading the environment failed: {e}",))

    def log_once(self, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            self.log.warning(message)

    # -- the scheduler query --------------------------------------------------------
    @property
    def scheduler_calls(self) -> int:
        return self.query.calls if self.query is not None else 0

    def _due(self) -> bool:
        return self.query is not None and (
            self._checked_at is None or time.monotonic() - self._checked_at >= self.recheck_interval
        )

    async def refresh_scheduler(self) -> None:
        """Query the scheduler if due; concurrent callers share one query."""
        if self._inflight is None:
            if not self._due():
                return
            self._inflight = asyncio.ensure_future(self._query())
        fut = self._inflight
        try:
            await asyncio.shield(fut)
        finally:
            if fut.done() and self._inflight is fut:
                self._inflight = None

    async def _query(self) -> None:
        assert self.query is not None
        try:
            facts = await asyncio.get_running_loop().run_in_executor(None, self.query.run)
            self._scheduler_facts = facts
        except SchedulerQueryError as e:
            self.log_once(f"sdcc_lab resources: the scheduler query failed: {e}")
            self._query_problem = str(e)
        except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
            self.log_once(f"sdcc_lab resources: the scheduler query failed unexpectedly: {e!r}")
            self._query_problem = f"the scheduler query failed: {e}"
        else:
            self._query_problem = None
        finally:
            self._checked_at = time.monotonic()
            self._checked_wall = datetime.now(timezone.utc)

    _query_problem: str | None = None

    async def start(self) -> None:
        """The start-up query (called once the event loop runs)."""
        try:  # a first CPU sample, so the first poll can show a rate
            cg = await asyncio.get_running_loop().run_in_executor(None, self._cgroup.read)
            await self._usage_now(cg)
        except Exception as e:  # noqa: BLE001 - pragma: no cover
            self.log_once(f"sdcc_lab resources: first usage reading failed: {e!r}")
        try:
            await self.refresh_scheduler()
        except Exception as e:  # noqa: BLE001 - pragma: no cover - logged, never raised
            self.log_once(f"sdcc_lab resources: start-up query failed: {e!r}")

    # -- usage ------------------------------------------------------------------------
    def _read_usage(self, cg: CgroupInfo) -> dict[str, Any]:
        """Blocking: memory and CPU of the session, GPU use."""
        self.usage_reads += 1
        now = time.monotonic()
        if cg.memory_bytes is not None:
            memory, measured = cg.memory_bytes, "cgroup"
            tree_cpu = None
        else:
            memory, tree_cpu = self._tree.sample()
            measured = "processes"
        if cg.cpu_usage_seconds is not None:
            cpu_seconds, cpu_source = cg.cpu_usage_seconds, "cgroup"
        else:
            if tree_cpu is None:
                tree_cpu = self._tree.sample()[1]
            cpu_seconds, cpu_source = tree_cpu, "processes"
        percent: float | None = None
        prev = self._cpu_prev
        if prev is not None and prev[2] == cpu_source and now > prev[0]:
            percent = round(max(0.0, (cpu_seconds - prev[1]) / (now - prev[0]) * 100), 1)
        self._cpu_prev = (now, cpu_seconds, cpu_source)
        gpus = None
        if self.use_nvml and self._gpu_devices:
            if self._nvml is None:
                self._nvml = NVMLReader(self._gpu_devices)
            gpus = self._nvml.read()
            if self._nvml.problem:
                self.log_once(f"sdcc_lab resources: {self._nvml.problem}")
        return {"memory_bytes": memory, "cpu_percent": percent, "gpus": gpus, "measured_from": measured}

    async def _usage_now(self, cg: CgroupInfo) -> dict[str, Any]:
        async with self._usage_lock:
            if self._usage is None or time.monotonic() - self._usage_at >= self.usage_cache_seconds:
                self._usage = await asyncio.get_running_loop().run_in_executor(None, self._read_usage, cg)
                self._usage_at = time.monotonic()
            return self._usage

    # -- the answer -----------------------------------------------------------------------
    def _limits(self, cg: CgroupInfo) -> Facts:
        facts = self._static
        if self._scheduler_facts is not None:
            facts = facts.merged(self._scheduler_facts)
        if self.scheduler == "local":
            host = host_facts()
            memory, mem_from = _min_source(
                (host.memory_bytes, "host"),
                (facts.memory_bytes, "jupyterhub"),
                (cg.memory_limit_bytes, "cgroup"),
            )
            cpus, cpu_from = _min_source(
                (host.cpus, "host"), (facts.cpus, "jupyterhub"), (cg.cpu_limit, "cgroup")
            )
            sources = {s for s in (mem_from, cpu_from) if s}
            facts = replace(
                facts,
                nodes=host.nodes,
                memory_bytes=int(memory) if memory is not None else None,
                cpus=cpus,
                limits_from="+".join(sorted(sources)) if sources else None,
            )
        else:
            # A batch job's allocation is the scheduler's; the cgroup fills only gaps.
            if facts.memory_bytes is None and cg.memory_limit_bytes is not None:
                facts = replace(facts, memory_bytes=cg.memory_limit_bytes)
            if facts.cpus is None and cg.cpu_limit is not None:
                facts = replace(facts, cpus=cg.cpu_limit)
            if facts.nodes is None:
                facts = replace(facts, nodes=host_facts().nodes)
        if facts.gpus is None and self._gpu_devices is not None:
            facts = replace(facts, gpus=len(self._gpu_devices))
        if self.test_end_in is not None:
            facts = replace(
                facts,
                start=self.started_at,
                end=self.started_at + timedelta(seconds=self.test_end_in),
                limit_seconds=int(self.test_end_in),
            )
        return facts

    async def snapshot(self, usage: bool = True) -> dict[str, Any]:
        """The answer of ``GET sdcc-lab/api/resources`` (never raises for a source failure)."""
        problems: list[str] = []
        try:
            await self.refresh_scheduler()
        except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
            self.log_once(f"sdcc_lab resources: scheduler refresh failed: {e!r}")
        if self._query_problem:
            problems.append(self._query_problem)
        try:
            cg = await asyncio.get_running_loop().run_in_executor(None, self._cgroup.read)
        except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
            self.log_once(f"sdcc_lab resources: reading cgroups failed: {e!r}")
            cg = CgroupInfo(problems=[f"reading cgroups failed: {e}"])
        facts = self._limits(cg)
        problems.extend(facts.problems)
        used: dict[str, Any] = {"memory_bytes": None, "cpu_percent": None, "gpus": None, "measured_from": None}
        if usage:
            try:
                used = await self._usage_now(cg)
            except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
                self.log_once(f"sdcc_lab resources: reading usage failed: {e!r}")
                problems.append(f"reading usage failed: {e}")
        now = datetime.now(timezone.utc)
        remaining = round((facts.end - now).total_seconds()) if facts.end is not None else None
        options = self.identity.get("options") or {}
        environment = options.get("environment") if isinstance(options, Mapping) else None
        return {
            "scheduler": self.scheduler,
            "job": {
                "id": facts.job_id,
                "partition": facts.partition,
                "account": facts.account,
                "qos": facts.qos,
                "nodes": facts.nodes,
                "environment": environment if isinstance(environment, str) and environment else None,
            },
            "allocation": {
                "cpus": facts.cpus,
                "memory_bytes": facts.memory_bytes,
                "gpus": facts.gpus,
                "limits_from": facts.limits_from,
            },
            "time": {
                "start": _iso(facts.start),
                "end": _iso(facts.end),
                "limit_seconds": facts.limit_seconds,
                "remaining_seconds": remaining,
            },
            "usage": dict(used),
            "updated_at": _iso(now),
            "scheduler_checked_at": _iso(self._checked_wall),
            "problems": problems,
            "debug": {"scheduler_calls": self.scheduler_calls, "usage_reads": self.usage_reads},
        }


def empty_snapshot(scheduler: str | None, problem: str) -> dict[str, Any]:
    """The answer when the collector itself failed: every value unknown."""
    return {
        "scheduler": scheduler,
        "job": dict.fromkeys(("id", "partition", "account", "qos", "nodes", "environment")),
        "allocation": dict.fromkeys(("cpus", "memory_bytes", "gpus", "limits_from")),
        "time": dict.fromkeys(("start", "end", "limit_seconds", "remaining_seconds")),
        "usage": dict.fromkeys(("memory_bytes", "cpu_percent", "gpus", "measured_from")),
        "updated_at": _iso(datetime.now(timezone.utc)),
        "scheduler_checked_at": None,
        "problems": [problem],
        "debug": {"scheduler_calls": None, "usage_reads": None},
    }
