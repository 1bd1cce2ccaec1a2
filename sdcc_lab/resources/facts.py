"""The facts every source fills in, and how two sources are merged."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import datetime


@dataclass(frozen=True)
class Facts:
    """What one source knows about a session; ``None`` where it knows nothing.

    ``limits_from`` names the source of the allocation numbers (``slurm``,
    ``htcondor``, ``jupyterhub``, ``cgroup``, ``host``).
    """

    job_id: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    nodes: str | None = None
    cpus: float | None = None
    memory_bytes: int | None = None
    gpus: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit_seconds: int | None = None
    limits_from: str | None = None
    problems: tuple[str, ...] = field(default=())

    def merged(self, other: Facts) -> Facts:
        """``self`` overridden by every non-null value of ``other``; problems add up."""
        changes = {
            f.name: getattr(other, f.name)
            for f in fields(self)
            if f.name != "problems" and getattr(other, f.name) is not None
        }
        return replace(self, **changes, problems=self.problems + other.problems)
