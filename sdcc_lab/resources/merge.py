"""Which source's limits the panel shows: the merge policy, in one place.

- A batch job's allocation is the scheduler's: the job's environment (or
  ads), overridden by the scheduler's answer where it has one; the cgroup
  fills only gaps, and the node list falls back to the host's name.
- A local session has no allocation of its own: of the host, JupyterHub's
  ``MEM_LIMIT``/``CPU_LIMIT`` and the cgroup, the tightest value wins, and
  ``limits_from`` names where each came from (``host+jupyterhub``...).
- The number of GPUs, when no source counted them, is the number visible.
"""

from __future__ import annotations

from dataclasses import replace

from .cgroup import CgroupInfo
from .facts import Facts


def _min_source(
    *candidates: tuple[float | int | None, str],
) -> tuple[float | int | None, str | None]:
    """The smallest known value and the name of its source."""
    known = [(v, s) for v, s in candidates if v is not None]
    if not known:
        return None, None
    return min(known, key=lambda c: c[0])


def merge_limits(
    scheduler: str,
    static: Facts,
    scheduler_facts: Facts | None,
    cgroup: CgroupInfo,
    host: Facts,
    gpu_devices: list[str] | None,
) -> Facts:
    """The session's limits from every source (see the module's docstring)."""
    facts = static if scheduler_facts is None else static.merged(scheduler_facts)
    if scheduler == "local":
        memory, mem_from = _min_source(
            (host.memory_bytes, "host"),
            (facts.memory_bytes, "jupyterhub"),
            (cgroup.memory_limit_bytes, "cgroup"),
        )
        cpus, cpu_from = _min_source(
            (host.cpus, "host"), (facts.cpus, "jupyterhub"), (cgroup.cpu_limit, "cgroup")
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
        if facts.memory_bytes is None and cgroup.memory_limit_bytes is not None:
            facts = replace(facts, memory_bytes=cgroup.memory_limit_bytes)
        if facts.cpus is None and cgroup.cpu_limit is not None:
            facts = replace(facts, cpus=cgroup.cpu_limit)
        if facts.nodes is None:
            facts = replace(facts, nodes=host.nodes)
    if facts.gpus is None and gpu_devices is not None:
        facts = replace(facts, gpus=len(gpu_devices))
    return facts
