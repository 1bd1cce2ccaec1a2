"""``scontrol show node -o``: what each node has free, summed per partition.

One line per node (Slurm 21.08 to 25.11: the keys used here are in all of them)::

    NodeName=vm ... CPUAlloc=0 CPUEfctv=4 CPUTot=4 ... RealMemory=22057 AllocMem=0 ...
    State=IDLE ... Partitions=cpu,gpu ... CfgTRES=cpu=4,mem=22057M,billing=4,gres/gpu=1 AllocTRES=

``CPUEfctv`` (22.05+) is what jobs may use (CPUTot minus specialized cores); older
versions have only ``CPUTot``. GPUs come from ``CfgTRES``/``AllocTRES``
(``gres/gpu=N``), the same in every version.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .common import SlurmParseError, _null, _short
from .scontrol import parse_scontrol_oneline
from .units import _int, gpus_in_tres, parse_tres

# States in which a node takes no new job (the base state or any flag).
_UNUSABLE = {
    "DOWN",
    "DRAIN",
    "DRAINED",
    "DRAINING",
    "FAIL",
    "FAILING",
    "FUTURE",
    "POWERED_DOWN",
    "POWERING_DOWN",
    "NOT_RESPONDING",
    "RESERVED",
    "MAINTENANCE",
    "MAINT",
    "INVAL",
    "REBOOT_ISSUED",
    "REBOOT_REQUESTED",
    "PLANNED",
    "UNKNOWN",
}


@dataclass(frozen=True)
class Node:
    name: str
    state: str  # e.g. IDLE, MIXED, ALLOCATED, IDLE+DRAIN
    partitions: tuple[str, ...]
    cpus: int
    cpus_alloc: int
    memory_mib: int
    memory_alloc_mib: int
    gpus: int
    gpus_alloc: int

    @property
    def usable(self) -> bool:
        """Whether the node takes new jobs (not down, drained, reserved…)."""
        flags = set(self.state.upper().replace("*", "").replace("~", "").split("+"))
        return not flags & _UNUSABLE

    @property
    def idle(self) -> bool:
        return self.usable and self.state.upper().split("+")[0] == "IDLE"


@dataclass(frozen=True)
class FreeResources:
    """Free resources of one partition (usable nodes only).

    ``node_*``: the most free on any one node (a one-node session fits there or nowhere).
    """

    partition: str
    nodes: int
    idle_nodes: int
    cpus: int
    memory_mib: int
    gpus: int
    node_cpus: int
    node_memory_mib: int
    node_gpus: int
    total_cpus: int
    max_node_cpus: int
    max_node_memory_mib: int

    def to_json(self) -> dict[str, int | str]:
        return {
            "partition": self.partition,
            "nodes": self.nodes,
            "idle_nodes": self.idle_nodes,
            "cpus": self.cpus,
            "memory_mib": self.memory_mib,
            "gpus": self.gpus,
            "node_cpus": self.node_cpus,
            "node_memory_mib": self.node_memory_mib,
            "node_gpus": self.node_gpus,
            "total_cpus": self.total_cpus,
        }

    def as_lookup(self) -> dict[str, int]:
        return {
            "cpus": self.cpus,
            "memory_mib": self.memory_mib,
            "gpus": self.gpus,
            "node_cpus": self.node_cpus,
            "node_memory_mib": self.node_memory_mib,
            "node_gpus": self.node_gpus,
        }


def _count(rec: dict[str, str], key: str, name: str, default: int = 0) -> int:
    v = _null(rec.get(key))
    return default if v is None else _int(v, f"node {name} {key}")


def _gpus(tres_text: str | None) -> int:
    found = gpus_in_tres(parse_tres(tres_text or ""))
    return found[0] if found else 0


def parse_nodes(text: str) -> list[Node]:
    """Every node in ``scontrol show node -o`` output."""
    if not isinstance(text, str):
        raise SlurmParseError(f"scontrol output must be a string, not {type(text).__name__}")
    nodes = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("No nodes"):
            continue
        rec = parse_scontrol_oneline(line)
        name = rec.get("NodeName")
        if not name:
            raise SlurmParseError(f"node record without NodeName: {_short(line)}")
        cpus = _count(rec, "CPUEfctv", name, _count(rec, "CPUTot", name))
        parts = _null(rec.get("Partitions"))
        nodes.append(
            Node(
                name=name,
                state=rec.get("State", "UNKNOWN"),
                partitions=tuple(p for p in (parts or "").split(",") if p),
                cpus=cpus,
                cpus_alloc=_count(rec, "CPUAlloc", name),
                memory_mib=_count(rec, "RealMemory", name),
                memory_alloc_mib=_count(rec, "AllocMem", name),
                gpus=_gpus(rec.get("CfgTRES")),
                gpus_alloc=_gpus(rec.get("AllocTRES")),
            )
        )
    return nodes


def free_per_partition(nodes: Iterable[Node]) -> dict[str, FreeResources]:
    """Free CPUs, memory and GPUs per partition, from the usable nodes' counts."""
    out: dict[str, FreeResources] = {}
    for node in nodes:
        for part in node.partitions:
            prev = out.get(part) or FreeResources(part, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            if not node.usable:
                out[part] = prev
                continue
            cpus = max(node.cpus - node.cpus_alloc, 0)
            mem = max(node.memory_mib - node.memory_alloc_mib, 0)
            gpus = max(node.gpus - node.gpus_alloc, 0)
            out[part] = FreeResources(
                partition=part,
                nodes=prev.nodes + 1,
                idle_nodes=prev.idle_nodes + (1 if node.idle else 0),
                cpus=prev.cpus + cpus,
                memory_mib=prev.memory_mib + mem,
                gpus=prev.gpus + gpus,
                node_cpus=max(prev.node_cpus, cpus),
                node_memory_mib=max(prev.node_memory_mib, mem),
                node_gpus=max(prev.node_gpus, gpus),
                total_cpus=prev.total_cpus + node.cpus,
                max_node_cpus=max(prev.max_node_cpus, node.cpus),
                max_node_memory_mib=max(prev.max_node_memory_mib, node.memory_mib),
            )
    return out


__all__ = ["FreeResources", "Node", "free_per_partition", "parse_nodes"]
