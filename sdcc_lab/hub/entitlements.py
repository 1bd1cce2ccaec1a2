"""What one user may use on a Slurm cluster, from associations, partitions and QOS.

Pure functions over parsed scheduler output (``sdcc_lab.scheduler.slurm``):
the form renders from an :class:`Entitlements`, and the option validator
checks every submitted value against the same object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..scheduler.slurm import QOS, Association, Partition

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
) -> Entitlements:
    """Combine a user's associations with partition and QOS rules.

    An association without a partition covers every partition. A partition
    keeps an account only if its AllowAccounts/DenyAccounts admit it, and an
    account keeps only the QOS that AllowQos/DenyQos admit. Partitions limited
    to groups (AllowGroups) are kept only when ``user_groups`` meets them.
    """
    partitions = list(partitions)
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
            )
        )
    return Entitlements(
        user=user,
        partitions=tuple(choices),
        qos_max_minutes={q.name: _minutes(q.max_wall_seconds) for q in qos},
        default_account=default_account,
    )


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
