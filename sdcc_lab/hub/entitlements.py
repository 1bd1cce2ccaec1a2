"""What one user may use on a Slurm cluster, from associations, partitions and QOS.

Pure functions over parsed scheduler output (``sdcc_lab.scheduler.slurm``):
the form renders from an :class:`Entitlements`, and the option validator
checks every submitted value against the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..scheduler.slurm import QOS, Association, Partition, parse_memory
from ..scheduler.slurm.nodes import Node

UNAVAILABLE_STATES = {"DOWN", "INACTIVE", "DRAIN"}


@dataclass(frozen=True)
class AccountChoice:
    """An account the user may charge on one partition, with its QOS."""

    name: str
    qos: tuple[str, ...]
    default_qos: str | None
    max_wall_minutes: int | None  # the association's own MaxWall


@dataclass(frozen=True)
class PartitionChoice:
    name: str
    accounts: tuple[AccountChoice, ...]
    max_minutes: int | None
    default_minutes: int | None
    gpu_types: tuple[str, ...]
    gpus: int
    is_default: bool = False
    #: Most cores / memory (MiB) one session may ask for here: the partition's per-node
    #: limit and its largest node, whichever is smaller (None: not known).
    max_cpus: int | None = None
    max_memory_mib: int | None = None

    def account(self, name: str) -> AccountChoice | None:
        return next((a for a in self.accounts if a.name == name), None)


@dataclass(frozen=True)
class Entitlements:
    """Everything one user may choose. ``notice`` says why something is missing."""

    user: str
    partitions: tuple[PartitionChoice, ...] = ()
    qos_max_minutes: Mapping[str, int | None] = field(default_factory=dict)
    default_account: str | None = None
    notice: str | None = None
    #: The HTCondor pseudo-partition and what the site grants this user there (None: not offered).
    htcondor: PartitionChoice | None = None
    #: Each QOS's MaxTRES per job ({"cpu": "8", "mem": "16G"}).
    qos_max_tres: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def batch_available(self) -> bool:
        return bool(self.partitions)

    def partition(self, name: str) -> PartitionChoice | None:
        return next((p for p in self.partitions if p.name == name), None)

    def runtime_limit(self, partition: str, account: str, qos: str) -> tuple[int | None, str]:
        """The longest runtime (minutes) allowed, and what sets it."""
        part = self.partition(partition)
        if part is None:
            return None, ""
        limits: list[tuple[int, str]] = []
        if part.max_minutes is not None:
            limits.append((part.max_minutes, f"partition {partition}"))
        qos_max = self.qos_max_minutes.get(qos)
        if qos_max is not None:
            limits.append((qos_max, f"QOS {qos}"))
        acct = part.account(account)
        if acct is not None and acct.max_wall_minutes is not None:
            limits.append((acct.max_wall_minutes, f"account {account}"))
        if not limits:
            return None, ""
        return min(limits)

    def resource_limit(self, partition: str, qos: str, kind: str) -> tuple[int | None, str]:
        """Most ``"cpus"`` or ``"memory"`` (MiB) one session may request, and what sets it."""
        part = self.partition(partition)
        if part is None:
            return None, ""
        limits: list[tuple[int, str]] = []
        own = part.max_cpus if kind == "cpus" else part.max_memory_mib
        if own is not None:
            limits.append((own, f"partition {partition}"))
        tres = self.qos_max_tres.get(qos, {})
        if kind == "cpus" and tres.get("cpu", "").isdigit():
            limits.append((int(tres["cpu"]), f"QOS {qos}"))
        if kind == "memory" and tres.get("mem"):
            try:
                mem = parse_memory(tres["mem"])
            except ValueError:
                mem = None
            if mem is not None:
                limits.append((mem // (1 << 20), f"QOS {qos}"))
        return min(limits) if limits else (None, "")

    def to_json(self) -> dict[str, Any]:
        """The shape the form's script narrows choices with."""
        return {
            "partitions": [
                {
                    "name": p.name,
                    "default_minutes": p.default_minutes,
                    "gpu_types": list(p.gpu_types),
                    "gpus": p.gpus,
                    "accounts": [
                        {
                            "name": a.name,
                            "default_qos": a.default_qos,
                            "qos": [
                                {
                                    "name": q,
                                    "max_minutes": self.runtime_limit(p.name, a.name, q)[0],
                                    "limited_by": self.runtime_limit(p.name, a.name, q)[1],
                                    "max_cpus": self.resource_limit(p.name, q, "cpus")[0],
                                    "max_memory_mib": self.resource_limit(p.name, q, "memory")[0],
                                }
                                for q in a.qos
                            ],
                        }
                        for a in p.accounts
                    ],
                }
                for p in self.partitions
            ],
            "default_account": self.default_account,
            "htcondor": None
            if self.htcondor is None
            else {
                "name": self.htcondor.name,
                "max_minutes": self.htcondor.max_minutes,
                "default_minutes": self.htcondor.default_minutes,
                "gpus": self.htcondor.gpus,
            },
        }


def _minutes(seconds: int | None) -> int | None:
    return None if seconds is None else seconds // 60


def _allowed(name: str, allow: tuple[str, ...] | None, deny: tuple[str, ...]) -> bool:
    return (allow is None or name in allow) and name not in deny


def build_entitlements(
    user: str,
    associations: Iterable[Association],
    partitions: Iterable[Partition],
    qos: Iterable[QOS],
    *,
    default_account: str | None = None,
    user_groups: Iterable[str] | None = None,
    nodes: Iterable[Node] = (),
) -> Entitlements:
    """Combine a user's associations with partition and QOS rules.

    An association without a partition covers every partition. A partition
    keeps an account only if its AllowAccounts/DenyAccounts admit it, and an
    account keeps only the QOS that AllowQos/DenyQos admit. Partitions limited
    to groups (AllowGroups) are kept only when ``user_groups`` meets them.
    """
    partitions = list(partitions)
    qos = list(qos)
    node_sizes: dict[str, tuple[int, int]] = {}
    for node in nodes:
        for name in node.partitions:
            cpus, mem = node_sizes.get(name, (0, 0))
            node_sizes[name] = (max(cpus, node.cpus), max(mem, node.memory_mib))
    associations = [a for a in associations if a.user == user]
    if default_account is None:
        # `show users withassoc` repeats the user's DefaultAccount on every row.
        default_account = next((a.default_account for a in associations if a.default_account), None)
    groups = set(user_groups) if user_groups is not None else None
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for assoc in associations:
        for part in partitions:
            if assoc.partition not in (None, part.name):
                continue
            if (part.state or "UP").upper() in UNAVAILABLE_STATES:
                continue
            if part.allow_groups is not None and (
                groups is None or not groups & set(part.allow_groups)
            ):
                continue
            if not _allowed(assoc.account, part.allow_accounts, part.deny_accounts):
                continue
            qos_names = [q for q in assoc.qos if _allowed(q, part.allow_qos, part.deny_qos)]
            if not qos_names:
                continue
            entry = found.setdefault(part.name, {}).setdefault(
                assoc.account, {"qos": [], "default": None, "max_wall": assoc.max_wall_seconds}
            )
            for q in qos_names:
                if q not in entry["qos"]:
                    entry["qos"].append(q)
            if assoc.default_qos in qos_names:
                entry["default"] = assoc.default_qos
    choices = []
    for part in partitions:
        if part.name not in found:
            continue
        accounts = tuple(
            AccountChoice(
                name,
                tuple(sorted(e["qos"])),
                e["default"],
                _minutes(e["max_wall"]),
            )
            for name, e in sorted(found[part.name].items())
        )
        choices.append(
            PartitionChoice(
                name=part.name,
                accounts=accounts,
                max_minutes=_minutes(part.max_time_seconds),
                default_minutes=_minutes(part.default_time_seconds),
                gpu_types=tuple(part.gpu_types),
                gpus=part.gpus,
                is_default=part.is_default,
                max_cpus=_smallest(part.max_cpus_per_node, node_sizes.get(part.name, (0, 0))[0]),
                max_memory_mib=_smallest(
                    part.max_mem_per_node_mib, node_sizes.get(part.name, (0, 0))[1]
                ),
            )
        )
    return Entitlements(
        user=user,
        partitions=tuple(choices),
        qos_max_minutes={q.name: _minutes(q.max_wall_seconds) for q in qos},
        default_account=default_account,
        qos_max_tres={q.name: dict(q.max_tres) for q in qos if q.max_tres},
    )


def _smallest(limit: int | None, node_size: int) -> int | None:
    """The partition's per-node limit and its largest node (0: unknown), whichever is less."""
    sizes = [v for v in (limit, node_size or None) if v is not None]
    return min(sizes) if sizes else None


def htcondor_entitlement(
    name: str,
    *,
    max_minutes: int,
    gpu_grants: Mapping[str, int],
    user_groups: Iterable[str] | None,
    default_minutes: int = 60,
) -> PartitionChoice:
    """What one user may request in HTCondor sessions, offered as pseudo-partition ``name``.

    HTCondor has no associations to read: the site caps the runtime and grants
    GPUs per unix group (``{"group": max GPUs}``, ``"*"`` for everyone), the way
    AllowGroups narrows Slurm partitions. The user gets their largest grant;
    none means no GPUs.
    """
    groups = set(user_groups or ())
    grants = [n for group, n in gpu_grants.items() if group == "*" or group in groups]
    return PartitionChoice(
        name=name,
        accounts=(),
        max_minutes=max_minutes,
        default_minutes=min(default_minutes, max_minutes),
        gpu_types=(),
        gpus=max([0, *grants]),
    )
