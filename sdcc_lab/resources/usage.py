"""Usage of the session: memory and CPU of its cgroup, else of its processes; GPUs.

A poll reads only the few numbers the panel shows:

- with a cgroup limit, two small files of that cgroup (``memory.current`` and
  ``cpu.stat``, or v1's ``memory.usage_in_bytes`` and ``cpuacct.usage``),
  whatever the number or size of the kernels;
- without one, ``/proc/PID/stat`` of the server and of each of its
  descendants (resident pages and CPU ticks, one file per process). Which
  processes descend from the server is found by one scan of ``/proc`` at most
  once per ``scan_interval`` (a kernel started since shows from the next
  scan); a process that exits drops out at once.

These files live in memory (procfs, cgroupfs): reading them costs less than
handing the work to a thread, so :meth:`UsageSampler.sample` is called on the
event loop. Only NVML, a driver call, runs in a thread (:meth:`read_gpus`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .cgroup import CgroupInfo, CgroupReader
from .gpu import NVMLReader

_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` the panel needs."""

    ppid: int
    start_ticks: int  # start time since boot: tells a reused PID from the process we knew
    rss_bytes: int
    cpu_seconds: float  # user + system


def parse_proc_stat(text: str) -> ProcStat | None:
    """``/proc/PID/stat`` (``proc(5)``); None when malformed.

    The command name (field 2) is in parentheses and may hold spaces and
    parentheses itself: the fields are counted from the last ``)``.
    """
    _, paren, rest = text.rpartition(")")
    fields = rest.split()
    if not paren or len(fields) < 22:
        return None
    try:
        # fields[0] is field 3 (state): ppid is 4, utime 14, stime 15, starttime 22, rss 24
        return ProcStat(
            ppid=int(fields[1]),
            start_ticks=int(fields[19]),
            rss_bytes=int(fields[21]) * _PAGE,
            cpu_seconds=(int(fields[11]) + int(fields[12])) / _TICK,
        )
    except ValueError:
        return None


class ProcessTree:
    """Resident memory and CPU time of one process and all its descendants, from ``/proc``.

    ``proc`` is the folder standing for ``/proc``; ``clock`` the monotonic time
    source that paces the scans (tests inject theirs).
    """

    def __init__(
        self,
        pid: int | None = None,
        proc: str | os.PathLike[str] = "/proc",
        scan_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = os.getpid() if pid is None else pid
        self.proc = os.fspath(proc)
        self.scan_interval = scan_interval
        self.clock = clock
        self._descendants: dict[int, int] = {}  # pid -> start ticks
        self.parents: dict[int, int] = {}  # descendant pid -> its parent's, as of the last scan
        self._scanned_at: float | None = None
        # The stats read within one_poll(): the job's total and the kernels' figures
        # of one poll read each process's file once. None outside a poll.
        self._poll_stats: dict[int, ProcStat | None] | None = None

    @contextmanager
    def one_poll(self) -> Iterator[None]:
        """Within the block each process's stat is read at most once (one poll's figures)."""
        self._poll_stats = {}
        try:
            yield
        finally:
            self._poll_stats = None

    def _stat(self, pid: int) -> ProcStat | None:
        cache = self._poll_stats
        if cache is not None and pid in cache:
            return cache[pid]
        st = self._read_stat(pid)
        if cache is not None:
            cache[pid] = st
        return st

    def _read_stat(self, pid: int) -> ProcStat | None:
        # os.open/os.read: a third cheaper than open() for a scan of every process
        try:
            fd = os.open(f"{self.proc}/{pid}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            raw = os.read(fd, 4096)
        except OSError:
            return None
        finally:
            os.close(fd)
        return parse_proc_stat(raw.decode("utf-8", "replace"))

    def scan(self) -> None:
        """Find the descendants again: one read of every process's stat (the costly part)."""
        children: dict[int, list[tuple[int, int]]] = {}
        try:
            names = os.listdir(self.proc)
        except OSError:
            names = []
        for name in names:
            if not name.isdigit():
                continue
            st = self._stat(int(name))
            if st is not None:
                children.setdefault(st.ppid, []).append((int(name), st.start_ticks))
        found: dict[int, int] = {}
        parents: dict[int, int] = {}
        todo = [self.root]
        while todo:
            parent = todo.pop()
            for pid, start in children.get(parent, ()):
                if pid not in found:
                    found[pid], parents[pid] = start, parent
                    todo.append(pid)
        self._descendants = found
        self.parents = parents
        self._scanned_at = self.clock()

    def scan_if_due(self) -> None:
        """Scan when the last scan is older than ``scan_interval`` (or there was none)."""
        if self._scanned_at is None or self.clock() - self._scanned_at >= self.scan_interval:
            self.scan()

    def stat(self, pid: int) -> ProcStat | None:
        """``/proc/PID/stat`` of one process (None once it exited)."""
        return self._stat(pid)

    def sample(self) -> tuple[int, float]:
        """(resident bytes, cumulative CPU seconds) of the tree; exited processes left out."""
        self.scan_if_due()
        rss, cpu = 0, 0.0
        root = self._stat(self.root)
        if root is not None:
            rss, cpu = root.rss_bytes, root.cpu_seconds
        for pid, start in list(self._descendants.items()):
            st = self._stat(pid)
            if st is None or st.start_ticks != start:  # exited (or its PID was reused)
                del self._descendants[pid]
                continue
            rss += st.rss_bytes
            cpu += st.cpu_seconds
        return rss, cpu


@dataclass(frozen=True)
class Usage:
    """One reading: ``None`` where unknown."""

    memory_bytes: int | None = None
    cpu_percent: float | None = None
    gpus: list[dict[str, Any]] | None = None
    measured_from: str | None = None  # "cgroup" or "processes"
    kernels: list[dict[str, Any]] | None = None  # per running kernel (see .kernels)
    kernel_memory: str | None = None  # "pss" or "rss": what the kernels' figures count

    def to_json(self) -> dict[str, Any]:
        return {
            "memory_bytes": self.memory_bytes,
            "cpu_percent": self.cpu_percent,
            "gpus": self.gpus,
            "measured_from": self.measured_from,
            "kernels": self.kernels,
            "kernel_memory": self.kernel_memory,
        }


class UsageSampler:
    """Memory and CPU of the session (the cgroup where a limit applies, else the process tree).

    The CPU percentage is the CPU time used since the previous reading over
    the ``clock`` time between the two, in percent of one CPU; ``None`` on the
    first reading and whenever the source changed between two readings.
    """

    def __init__(
        self,
        cgroup: CgroupReader,
        tree: ProcessTree,
        gpu_devices: list[str] | None,
        use_nvml: bool = True,
        clock: Callable[[], float] = time.monotonic,
        physical_gpus: list[str] | None = None,
    ) -> None:
        self.physical_gpus = physical_gpus
        self.cgroup = cgroup
        self.tree = tree
        self.gpu_devices = gpu_devices
        self.use_nvml = use_nvml
        self.clock = clock
        self.nvml: NVMLReader | None = None
        self._cpu_prev: tuple[float, float, str] | None = None

    def sample(self, location: CgroupInfo) -> Usage:
        """Memory and CPU now; ``location`` is where the cgroup reader found the limits."""
        now = self.clock()
        memory, cpu_seconds = self.cgroup.read_usage(location)
        measured = cpu_source = "cgroup"
        if memory is None or cpu_seconds is None:
            tree_memory, tree_cpu = self.tree.sample()
            if memory is None:
                memory, measured = tree_memory, "processes"
            if cpu_seconds is None:
                cpu_seconds, cpu_source = tree_cpu, "processes"
        percent: float | None = None
        prev = self._cpu_prev
        if prev is not None and prev[2] == cpu_source and now > prev[0]:
            percent = round(max(0.0, (cpu_seconds - prev[1]) / (now - prev[0]) * 100), 1)
        self._cpu_prev = (now, cpu_seconds, cpu_source)
        return Usage(memory_bytes=memory, cpu_percent=percent, measured_from=measured)

    @property
    def reads_gpus(self) -> bool:
        return self.use_nvml and bool(self.gpu_devices)

    def read_gpus(self) -> tuple[list[dict[str, Any]] | None, str | None]:
        """Blocking (a thread): one entry per visible GPU, and NVML's problem if any."""
        if not self.reads_gpus:
            return None, None
        if self.nvml is None:
            self.nvml = NVMLReader(self.gpu_devices, self.physical_gpus)
        return self.nvml.read(), self.nvml.problem
