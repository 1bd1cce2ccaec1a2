"""Memory and CPU of each running kernel, named by its notebook.

Which kernels run and which notebook each belongs to come from the server
(its kernel manager and session manager; :func:`server_kernels`). A kernel's
figure is its process and all its descendants (a notebook's ``multiprocessing``
workers count for it):

- which processes descend from a kernel comes from the collector's one scan
  of ``/proc`` (:class:`~.usage.ProcessTree`, at most once per scan period,
  shared with the job's own figure); a poll reads only ``/proc/PID/stat`` of
  the known processes (resident pages, CPU ticks);
- memory is PSS (proportional set size: a page shared by several processes is
  split between them, so the kernels add up to what the job's cgroup charges),
  from ``/proc/PID/smaps_rollup``. That file costs the kernel a walk of the
  process's page tables (~0.75 ms for 50 MB), so it is read when a process is
  first seen and then for one process at a time, the stalest first, once its
  reading is older than :attr:`KernelSampler.pss_seconds`, and no more often
  than every ``pss_seconds / 6`` whatever the number of polls and kernels (so
  a poll's cost stays flat in both); in between, a process's figure is its
  last PSS plus the change of its resident size since (growth is the
  process's own pages, which PSS counts in full). Where smaps cannot be read,
  RSS (``memory_kind`` says which);
- CPU is the tree's CPU time since the previous reading, in percent of one CPU.

The sampler keeps each kernel's peak since it started (the panel marks it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .usage import ProcessTree


@dataclass(frozen=True)
class KernelRef:
    """A running kernel as the server knows it."""

    id: str
    pid: int | None
    path: str | None  # the notebook's path (relative to the server's root), None without a session
    name: str | None  # the kernel spec's name (python3…)


@dataclass
class _State:
    pid: int
    cpu_prev: tuple[float, float] | None = None  # (clock, cpu seconds)
    peak: int = 0


@dataclass
class _Pss:
    start_ticks: int  # tells a reused PID from the process read
    pss: int
    rss_then: int
    read_at: float


def read_pss(proc: str, pid: int) -> int | None:
    """``Pss:`` of ``/proc/PID/smaps_rollup`` in bytes; None where it cannot be read."""
    try:
        fd = os.open(f"{proc}/{pid}/smaps_rollup", os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 8192)
    except OSError:
        return None
    finally:
        os.close(fd)
    for line in raw.split(b"\n"):
        if line.startswith(b"Pss:"):
            try:
                return int(line.split()[1]) * 1024
            except (IndexError, ValueError):
                return None
    return None


class KernelSampler:
    """Per-kernel memory (PSS, else RSS), CPU and peak; ``clock`` paces CPU rates and PSS reads."""

    def __init__(
        self,
        tree: ProcessTree,
        clock: Callable[[], float] = time.monotonic,
        use_pss: bool = True,
        pss_seconds: float = 30.0,
    ) -> None:
        self.tree = tree
        self.clock = clock
        self.use_pss = use_pss
        self.pss_seconds = pss_seconds
        self._last_reread: float | None = None
        self.memory_kind = "pss" if use_pss else "rss"
        self._state: dict[str, _State] = {}
        self._pss: dict[int, _Pss] = {}

    def _children(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for pid, parent in self.tree.parents.items():
            out.setdefault(parent, []).append(pid)
        return out

    def _read_pss(self, pid: int, start: int, rss: int, now: float) -> None:
        pss = read_pss(self.tree.proc, pid)
        if pss is None:
            if not os.path.exists(f"{self.tree.proc}/{pid}"):
                return  # gone: nothing to say about smaps
            self.use_pss, self.memory_kind = False, "rss"  # no smaps here: RSS from now on
            self._pss.clear()
            return
        self._pss[pid] = _Pss(start, pss, rss, now)

    def sample(self, kernels: Iterable[KernelRef]) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """One entry per kernel, and which kernel each process belongs to (pid -> kernel id)."""
        now = self.clock()
        self.tree.scan_if_due()
        children = self._children()
        out: list[dict[str, Any]] = []
        owners: dict[int, str] = {}
        seen_kernels: set[str] = set()
        live: dict[int, tuple[int, int]] = {}  # pid -> (start ticks, rss) of this sample
        per_kernel: list[tuple[dict[str, Any], _State, list[int], float]] = []
        for k in kernels:
            entry: dict[str, Any] = {
                "id": k.id,
                "path": k.path,
                "kernel_name": k.name,
                "memory_bytes": None,
                "peak_memory_bytes": None,
                "cpu_percent": None,
                "gpu_memory_bytes": None,
            }
            out.append(entry)
            if k.pid is None:
                continue
            seen_kernels.add(k.id)
            state = self._state.get(k.id)
            if state is None or state.pid != k.pid:  # a restarted kernel starts afresh
                state = self._state[k.id] = _State(k.pid)
            pids, todo, cpu = [], [k.pid], 0.0
            while todo:
                pid = todo.pop()
                st = self.tree.stat(pid)
                if st is None:
                    continue  # exited since the scan
                pids.append(pid)
                owners[pid] = k.id
                live[pid] = (st.start_ticks, st.rss_bytes)
                cpu += st.cpu_seconds
                todo.extend(children.get(pid, ()))
            if not pids:
                continue  # the kernel exited between the listing and now
            per_kernel.append((entry, state, pids, cpu))
        if self.use_pss:
            self._refresh_pss(live, now)
        for entry, state, pids, cpu in per_kernel:
            memory = sum(self._memory(pid, *live[pid]) for pid in pids)
            state.peak = max(state.peak, memory)
            entry["memory_bytes"], entry["peak_memory_bytes"] = memory, state.peak
            if state.cpu_prev is not None and now > state.cpu_prev[0]:
                rate = (cpu - state.cpu_prev[1]) / (now - state.cpu_prev[0]) * 100
                entry["cpu_percent"] = round(max(0.0, rate), 1)
            state.cpu_prev = (now, cpu)
        for gone in set(self._state) - seen_kernels:
            del self._state[gone]
        for gone_pid in set(self._pss) - set(live):
            del self._pss[gone_pid]
        return out, owners

    def _refresh_pss(self, live: dict[int, tuple[int, int]], now: float) -> None:
        """New processes now; then the stalest one past the period, at most every period / 6."""
        stale: list[tuple[float, int]] = []
        for pid, (start, rss) in live.items():
            known = self._pss.get(pid)
            if known is None or known.start_ticks != start:
                self._read_pss(pid, start, rss, now)
                if not self.use_pss:
                    return
            elif now - known.read_at >= self.pss_seconds:
                stale.append((known.read_at, pid))
        gap = self.pss_seconds / 6
        if stale and (self._last_reread is None or now - self._last_reread >= gap):
            self._last_reread = now
            _, pid = min(stale)
            self._read_pss(pid, *live[pid], now)

    def _memory(self, pid: int, start: int, rss: int) -> int:
        known = self._pss.get(pid) if self.use_pss else None
        if known is None or known.start_ticks != start:
            return rss
        return max(0, known.pss + rss - known.rss_then)


class ServerKernels:
    """The server's running kernels with their notebooks (the session manager's sessions).

    Listing the sessions builds a kernel model per session (~70 µs each), so the
    kernel -> notebook map is re-read only when the set of kernels changed or
    ``refresh_seconds`` passed (a renamed notebook shows within that time).
    """

    def __init__(
        self,
        server_app: Any,
        refresh_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.server_app = server_app
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._paths: dict[str, str] = {}
        self._ids: frozenset[str] = frozenset()
        self._read_at: float | None = None

    async def _notebooks(self, ids: frozenset[str]) -> dict[str, str]:
        now = self.clock()
        if ids != self._ids or self._read_at is None or now - self._read_at >= self.refresh_seconds:
            paths: dict[str, str] = {}
            try:
                for s in await self.server_app.session_manager.list_sessions():
                    kernel = s.get("kernel") or {}
                    if kernel.get("id") and s.get("path"):
                        paths[kernel["id"]] = s["path"]
            except Exception:  # noqa: BLE001 - no sessions: kernels are listed without notebooks
                paths = {}
            self._paths, self._ids, self._read_at = paths, ids, now
        return self._paths

    async def __call__(self) -> list[KernelRef]:
        km = self.server_app.kernel_manager
        ids = frozenset(km.list_kernel_ids())
        paths = await self._notebooks(ids)
        out: list[KernelRef] = []
        for kid in sorted(ids):
            try:
                kernel = km.get_kernel(kid)
            except KeyError:
                continue
            provisioner = getattr(kernel, "provisioner", None)
            pid = getattr(provisioner, "pid", None)
            if pid is None:
                process = getattr(provisioner, "process", None)
                pid = getattr(process, "pid", None)
            out.append(
                KernelRef(
                    kid, pid if isinstance(pid, int) else None, paths.get(kid), kernel.kernel_name
                )
            )
        return out
