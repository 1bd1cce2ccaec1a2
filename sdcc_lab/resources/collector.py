"""The session's resources: one collector per server, shared by every browser tab.

The collector only orchestrates; each job has its module:

- which session this is: the server's one :class:`~sdcc_lab.session.Session`;
- what the environment and ads say: :mod:`.slurm`, :mod:`.htcondor`,
  :mod:`.local` (read once, at start);
- the scheduler's answer: a query object (Slurm: :class:`.slurm.SlurmQuery`,
  ``scontrol show job -o ID``) behind the scheduler layer's single-flight
  :class:`~sdcc_lab.scheduler.cache.TTLCache`;
- usage: :mod:`.usage` (cgroup files, else ``/proc`` of the process tree);
- which source wins: :mod:`.merge`; the JSON shape: :mod:`.model`.

What it costs: the scheduler is asked once at start and then at most once
per :attr:`~ResourcesCollector.recheck_interval`, whatever the number of tabs
or polls (concurrent requests wait for the one query in flight, and a failed
query also waits a period); the cgroup's limits are re-read with it. Usage is
read at most once per :attr:`~ResourcesCollector.usage_cache_seconds`.
A failing source leaves its fields ``None`` and is logged once per message.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from traitlets import Bool, Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..scheduler.cache import TTLCache
from ..scheduler.errors import SchedulerError
from ..session import Session
from .cgroup import CgroupInfo, CgroupReader
from .facts import Facts
from .gpu import physical_gpus, visible_gpus
from .htcondor import htcondor_from_env
from .kernels import KernelRef, KernelSampler
from .local import host_facts, jupyterhub_limits
from .merge import merge_limits
from .model import answer
from .quota import QuotaReader
from .slurm import SlurmQuery, slurm_from_env
from .usage import ProcessTree, Usage, UsageSampler


class FactsQuery(Protocol):
    """Asks the scheduler about the session's job (:class:`.slurm.SlurmQuery` is one)."""

    async def fetch(self) -> Facts:
        """The job's facts; raises :class:`~sdcc_lab.scheduler.errors.SchedulerError`."""
        ...


@dataclass(frozen=True)
class _Limits:
    """The merged limits of one re-check, where the cgroup's usage is read, and what failed."""

    facts: Facts
    cgroup: CgroupInfo
    problems: tuple[str, ...] = ()


class ResourcesCollector(LoggingConfigurable):
    """Merges the session's limits and usage for ``GET sdcc-lab/api/resources``.

    ``query`` replaces the scheduler query the session would get (tests give
    a fake one); ``clock`` is the monotonic time source of every period here.
    """

    recheck_interval = Float(
        300.0,
        help="""Seconds between two scheduler queries for a changed time limit (and two readings of
        the cgroup's limits).

        The scheduler is asked once when the server starts, then at most once
        per period (only while someone polls), shared by all browser tabs.
        Sites ask for no less than 60-120 s: every query is an RPC to the
        controller. Example: ``c.ResourcesCollector.recheck_interval = 600``.
        """,
    ).tag(config=True)
    scheduler_timeout = Float(
        10.0,
        help="""Seconds a scheduler query may take before it is abandoned (its fields keep their
        last values). Example: ``c.ResourcesCollector.scheduler_timeout = 20``.
        """,
    ).tag(config=True)
    scontrol_command = List(
        Unicode(),
        default_value=["scontrol"],
        help="""The command that runs ``scontrol`` (a list: program and leading arguments).

        Give a full path when the server's PATH lacks Slurm's binaries, e.g.
        ``c.ResourcesCollector.scontrol_command = ["/usr/bin/scontrol"]``.
        """,
    ).tag(config=True)
    usage_cache_seconds = Float(
        1.0,
        help="""Seconds a usage reading is reused: polls of several tabs within this time cost one
        reading. Example: ``c.ResourcesCollector.usage_cache_seconds = 2``.
        """,
    ).tag(config=True)
    process_scan_seconds = Float(
        10.0,
        help="""Seconds between two scans of /proc for the server's descendants (a session without a
        cgroup limit measures its processes).

        Between scans a poll reads only the known processes' /proc/PID/stat; a
        kernel started since counts from the next scan, one that exited drops
        out at once. Example: ``c.ResourcesCollector.process_scan_seconds = 30``.
        """,
    ).tag(config=True)
    cgroup_root = Unicode(
        "/",
        help="""Folder standing for / when cgroup files are read (tests point it at recorded trees).
        Example: ``c.ResourcesCollector.cgroup_root = "/host"``.
        """,
    ).tag(config=True)
    use_nvml = Bool(
        True,
        help="""Read GPU usage through NVML when nvidia-ml-py is installed and GPUs are visible.
        Example: ``c.ResourcesCollector.use_nvml = False``.
        """,
    ).tag(config=True)

    memory_warning_share = Float(
        0.9,
        help="""Share of the job's memory limit at which JupyterLab warns that the session is
        about to be killed for memory, naming the notebook using most and offering to save
        all (each user may choose another share in the panel's settings). 0 turns the
        warning off by default. Example: ``c.ResourcesCollector.memory_warning_share = 0.85``.
        """,
    ).tag(config=True)
    kernel_pss_seconds = Float(
        30.0,
        help="""Seconds between two PSS readings of one kernel process (/proc/PID/smaps_rollup, a
        walk of its page tables: ~0.75 ms per 50 MB). A new process is read at once; between
        readings its figure follows its resident size (one small /proc file per poll), and
        one process is re-read at most every sixth of this period, whatever the number of
        kernels and polls. Example: ``c.ResourcesCollector.kernel_pss_seconds = 60``.
        """,
    ).tag(config=True)
    kernel_memory = Unicode(
        "pss",
        help="""What a kernel's memory counts: ``pss`` (pages shared between processes are split
        between them, so the kernels add up to the job's figure; reads /proc/PID/smaps_rollup)
        or ``rss`` (cheaper; shared pages count in full for each).
        Example: ``c.ResourcesCollector.kernel_memory = "rss"``.
        """,
    ).tag(config=True)

    def __init__(
        self,
        session: Session,
        environ: Mapping[str, str] | None = None,
        *,
        query: FactsQuery | None = None,
        clock: Callable[[], float] = time.monotonic,
        kernels: Callable[[], Awaitable[list[KernelRef]]] | None = None,
        quota: QuotaReader | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kernels = kernels
        self.quota = quota
        self.session = session
        self.environ = dict(os.environ if environ is None else environ)
        self._logged: set[str] = set()
        self._static = self._read_static()
        self._host = host_facts()
        self.query: FactsQuery | None = query
        if query is None and session.scheduler == "slurm" and session.job_id:
            self.query = SlurmQuery(session.job_id, self.scontrol_command, self.scheduler_timeout)
        self._scheduler_facts: Facts | None = None  # the last answer: kept when a query fails
        self._checked_at: datetime | None = None
        self._limits: TTLCache[None, _Limits] = TTLCache(self.recheck_interval, clock=clock)
        self._cgroup = CgroupReader(self.cgroup_root)
        self.usage_sampler = UsageSampler(
            self._cgroup,
            ProcessTree(scan_interval=self.process_scan_seconds, clock=clock),
            visible_gpus(self.environ),
            self.use_nvml,
            clock,
            physical_gpus(self.environ),
        )
        self._usage: TTLCache[None, Usage] = TTLCache(self.usage_cache_seconds, clock=clock)
        # The kernels' processes come from the same /proc scan as the job's own figure.
        self.kernel_sampler = KernelSampler(
            self.usage_sampler.tree,
            clock,
            use_pss=self.kernel_memory != "rss",
            pss_seconds=self.kernel_pss_seconds,
        )

    def _read_static(self) -> Facts:
        env = self.environ
        try:
            if self.session.scheduler == "slurm":
                return slurm_from_env(env)
            if self.session.scheduler == "htcondor":
                return htcondor_from_env(env)
            return jupyterhub_limits(env)
        except Exception as e:  # noqa: BLE001 - a bug in a reader must not stop the server
            self.log_once(f"sdcc_lab resources: reading the environment failed: {e!r}")
            return Facts(problems=(f"reading the environment failed: {e}",))

    def log_once(self, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            self.log.warning(message)

    def use_query(self, query: FactsQuery | None) -> None:
        """Ask ``query`` from now on instead of the session's own (the browser tests' fixed end)."""
        self.query = query
        self._scheduler_facts = None
        self._limits.clear()

    # -- limits: the scheduler and the cgroup, once per re-check period ----------------
    async def _read_limits(self) -> _Limits:
        """The fetch of the limits cache: never raises, a failure is a problem."""
        problems: list[str] = []
        if self.query is not None:
            try:
                self._scheduler_facts = await self.query.fetch()
            except SchedulerError as e:
                self.log_once(f"sdcc_lab resources: the scheduler query failed: {e}")
                problems.append(str(e))
            except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
                self.log_once(f"sdcc_lab resources: the scheduler query failed unexpectedly: {e!r}")
                problems.append(f"the scheduler query failed: {e}")
            finally:
                self._checked_at = datetime.now(timezone.utc)
        try:
            cgroup = self._cgroup.read()
        except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
            self.log_once(f"sdcc_lab resources: reading cgroups failed: {e!r}")
            cgroup = CgroupInfo(problems=[f"reading cgroups failed: {e}"])
        facts = merge_limits(
            self.session.scheduler,
            self._static,
            self._scheduler_facts,
            cgroup,
            self._host,
            self.usage_sampler.gpu_devices,
        )
        return _Limits(facts, cgroup, tuple(problems))

    async def limits(self) -> _Limits:
        """The limits, re-read when the period is over (one query for all concurrent callers)."""
        try:
            return await self._limits.get(None, self._read_limits)
        except Exception as e:  # noqa: BLE001 - pragma: no cover - _read_limits catches its sources
            self.log_once(f"sdcc_lab resources: merging the limits failed: {e!r}")
            return _Limits(self._static, CgroupInfo(), (f"merging the limits failed: {e}",))

    async def refresh(self, limit_seconds: int | None = None) -> None:
        """Ask the scheduler again now: the job's time limit changed (an extension).

        The countdown and the warnings follow the next answer. A query already in
        flight may predate the change: given the new ``limit_seconds``, one more query
        runs when the answer still shows another.
        """
        limits = await self._limits.get(None, self._read_limits, fresh=True)
        if limit_seconds is not None and limits.facts.limit_seconds != limit_seconds:
            await self._limits.get(None, self._read_limits, fresh=True)

    # -- usage ---------------------------------------------------------------------------
    async def _read_usage(self) -> Usage:
        """The fetch of the usage cache: procfs/cgroupfs on the loop, NVML in a thread."""
        limits = await self.limits()
        owners: dict[int, str] = {}
        with self.usage_sampler.tree.one_poll():  # the job's total and the kernels share reads
            usage = self.usage_sampler.sample(limits.cgroup)
            if self.kernels is not None:
                try:
                    refs = await self.kernels()
                    kernels, owners = self.kernel_sampler.sample(refs)
                    usage = replace(
                        usage, kernels=kernels, kernel_memory=self.kernel_sampler.memory_kind
                    )
                except Exception as e:  # noqa: BLE001 - the job's figures still show
                    self.log_once(f"sdcc_lab resources: reading the kernels failed: {e!r}")
        if self.usage_sampler.reads_gpus:
            gpus, problem = await asyncio.get_running_loop().run_in_executor(
                None, self.usage_sampler.read_gpus
            )
            if problem:
                self.log_once(f"sdcc_lab resources: {problem}")
            usage = replace(usage, gpus=gpus)
            _gpu_memory_per_kernel(usage, owners)
        return usage

    async def start(self) -> None:
        """The start-up query and a first CPU sample (called once the event loop runs)."""
        await self.limits()
        try:  # so that the first poll after the usage period can show a CPU rate
            await self._usage.get(None, self._read_usage)
        except Exception as e:  # noqa: BLE001 - logged, never raised
            self.log_once(f"sdcc_lab resources: first usage reading failed: {e!r}")

    # -- the answer ------------------------------------------------------------------------
    async def snapshot(self, usage: bool = True) -> dict[str, Any]:
        """The answer of ``GET sdcc-lab/api/resources`` (never raises for a source failure)."""
        limits = await self.limits()
        problems = [*limits.problems, *limits.facts.problems]
        used = Usage()
        if usage:
            try:
                used = await self._usage.get(None, self._read_usage)
            except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
                self.log_once(f"sdcc_lab resources: reading usage failed: {e!r}")
                problems.append(f"reading usage failed: {e}")
        if self.session.problem:
            problems.append(self.session.problem)
        environment = self.session.options.get("environment")
        return answer(
            scheduler=self.session.scheduler,
            facts=limits.facts,
            environment=environment if isinstance(environment, str) and environment else None,
            usage=used,
            now=datetime.now(timezone.utc),
            checked_at=self._checked_at,
            problems=problems,
            storage=self.quota.to_json() if self.quota is not None else None,
            memory_warning_share=self.memory_warning_share,
        )


def _gpu_memory_per_kernel(usage: Usage, owners: dict[int, str]) -> None:
    """Add to each kernel the GPU memory NVML says its processes use (on the job's GPUs)."""
    if not usage.kernels or not usage.gpus:
        return
    totals: dict[str, int] = {}
    for gpu in usage.gpus:
        for p in gpu.get("processes") or []:
            kernel = owners.get(p["pid"])
            if kernel is not None and p["memory_bytes"] is not None:
                totals[kernel] = totals.get(kernel, 0) + p["memory_bytes"]
    for k in usage.kernels:
        if k["id"] in totals:
            k["gpu_memory_bytes"] = totals[k["id"]]
