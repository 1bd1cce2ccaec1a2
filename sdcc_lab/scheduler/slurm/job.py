"""The job record that every job format (scontrol text, squeue JSON) turns into."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .common import SlurmParseError

# --------------------------------------------------------------------------- jobs

# Base states of a job (job_state_string in Slurm); the others are flags.
_BASE_STATES = frozenset(
    {
        "PENDING",
        "RUNNING",
        "SUSPENDED",
        "COMPLETED",
        "CANCELLED",
        "FAILED",
        "TIMEOUT",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
        "OUT_OF_MEMORY",
    }
)


@dataclass(frozen=True)
class Job:
    """A Slurm job as ``scontrol show job`` or ``squeue --json`` describe it.

    ``state`` is the base state (``RUNNING``); flags such as ``COMPLETING`` go
    to ``state_flags``. ``memory_bytes`` is the job's total (allocated, else
    requested) memory; ``gpus`` its GPU count (0 when none is named);
    ``start_time`` of a pending job is Slurm's expected start, if any. Times are
    UTC-aware datetimes or None.
    """

    job_id: str
    user: str | None
    state: str
    reason: str | None
    partition: str | None
    account: str | None
    qos: str | None
    nodes: str | None
    num_cpus: int | None
    memory_bytes: int | None
    gpus: int | None
    time_limit_seconds: int | None
    submit_time: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    name: str | None
    batch_host: str | None
    state_flags: tuple[str, ...] = ()
    gpu_types: tuple[str, ...] = ()
    array_job_id: str | None = None
    array_task_id: str | None = None


def _primary_state(states: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    names = [s.strip().upper() for s in states if s.strip()]
    if not names:
        raise SlurmParseError("job has an empty state")
    base = next((s for s in names if s in _BASE_STATES), names[0])
    return base, tuple(s for s in names if s != base)


# scontrol text -----------------------------------------------------------------
