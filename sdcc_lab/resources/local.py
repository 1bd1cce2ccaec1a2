"""A local session's limits: JupyterHub's MEM_LIMIT/CPU_LIMIT, else the host.

JupyterHub passes the spawner's ``mem_limit`` (bytes) and ``cpu_limit`` (CPUs)
as ``MEM_LIMIT`` and ``CPU_LIMIT``; whether they are enforced depends on the
spawner, so cgroup limits, when tighter, win (:mod:`.merge` decides). The host's
facts are read once, when the collector starts.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import psutil

from .facts import Facts


def _positive(environ: Mapping[str, str], name: str, problems: list[str]) -> float | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name}={raw!r} is not a number; ignored")
        return None
    if not value > 0 or value == float("inf"):
        problems.append(f"{name}={raw!r} is not a positive number; ignored")
        return None
    return value


def jupyterhub_limits(environ: Mapping[str, str]) -> Facts:
    problems: list[str] = []
    mem = _positive(environ, "MEM_LIMIT", problems)
    cpu = _positive(environ, "CPU_LIMIT", problems)
    return Facts(
        cpus=cpu,
        memory_bytes=int(mem) if mem is not None else None,
        limits_from="jupyterhub" if mem is not None or cpu is not None else None,
        problems=tuple(problems),
    )


def host_facts() -> Facts:
    """The machine: its name, the CPUs this process may run on, its memory."""
    try:
        cpus: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    try:
        memory: int | None = psutil.virtual_memory().total
    except (OSError, RuntimeError):
        memory = None
    return Facts(
        nodes=socket.gethostname() or None,
        cpus=float(cpus) if cpus else None,
        memory_bytes=memory,
        limits_from="host",
    )
