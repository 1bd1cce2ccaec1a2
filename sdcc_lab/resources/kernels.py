"""Memory and CPU of each running kernel, named by its notebook.

Which kernels run and which notebook each belongs to come from the server
(its kernel manager and session manager; :func:`server_kernels`). A kernel's
figure is its process and all its descendants (a notebook's ``multiprocessing``
workers count for it), read with psutil:

- memory is PSS (proportional set size: a page shared by several processes is
  split between them) where ``/proc/PID/smaps_rollup`` is readable, so the
  kernels' figures add up to what the job's cgroup charges; RSS otherwise
  (:attr:`KernelSampler.memory_kind` says which);
- CPU is the tree's CPU time since the previous reading, in percent of one CPU.

The sampler keeps each kernel's peak since it started (the panel marks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psutil


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


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


class KernelSampler:
    """Per-kernel memory (PSS, else RSS), CPU and peak; ``clock`` paces the CPU rates."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, use_pss: bool = True) -> None:
        self.clock = clock
        self.use_pss = use_pss
        self.memory_kind = "pss" if use_pss else "rss"
        self._state: dict[str, _State] = {}

    def _memory(self, proc: psutil.Process) -> int:
        if self.use_pss:
            try:
                return int(proc.memory_full_info().pss)
            except (psutil.AccessDenied, AttributeError):
                self.use_pss, self.memory_kind = False, "rss"  # no smaps here: RSS from now on
        return int(proc.memory_info().rss)

    def sample(self, kernels: Iterable[KernelRef]) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """One entry per kernel, and which kernel each process belongs to (pid -> kernel id)."""
        now = self.clock()
        out: list[dict[str, Any]] = []
        owners: dict[int, str] = {}
        seen: set[str] = set()
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
            seen.add(k.id)
            state = self._state.get(k.id)
            if state is None or state.pid != k.pid:  # a restarted kernel starts afresh
                state = self._state[k.id] = _State(k.pid)
            memory, cpu = 0, 0.0
            try:
                procs = _tree(k.pid)
            except psutil.Error:
                continue  # exited between the listing and now
            for p in procs:
                try:
                    with p.oneshot():
                        memory += self._memory(p)
                        t = p.cpu_times()
                        cpu += t.user + t.system
                    owners[p.pid] = k.id
                except psutil.Error:
                    continue  # a child that just exited
            state.peak = max(state.peak, memory)
            entry["memory_bytes"], entry["peak_memory_bytes"] = memory, state.peak
            if state.cpu_prev is not None and now > state.cpu_prev[0]:
                rate = (cpu - state.cpu_prev[1]) / (now - state.cpu_prev[0]) * 100
                entry["cpu_percent"] = round(max(0.0, rate), 1)
            state.cpu_prev = (now, cpu)
        for gone in set(self._state) - seen:
            del self._state[gone]
        return out, owners


async def server_kernels(server_app: Any) -> list[KernelRef]:
    """The server's running kernels with their notebooks (the session manager's sessions)."""
    km = server_app.kernel_manager
    paths: dict[str, str] = {}
    try:
        for s in await server_app.session_manager.list_sessions():
            kernel = s.get("kernel") or {}
            if kernel.get("id") and s.get("path"):
                paths[kernel["id"]] = s["path"]
    except Exception:  # noqa: BLE001 - no sessions: kernels are listed without notebooks
        paths = {}
    out: list[KernelRef] = []
    for kid in list(km.list_kernel_ids()):
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
