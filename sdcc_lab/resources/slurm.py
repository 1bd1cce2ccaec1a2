"""A Slurm session's facts: the job's environment first, then one scheduler query.

The environment costs nothing and is read once. ``scontrol show job -o ID``
is an RPC to the controller: :class:`SlurmQuery` runs it, with a timeout, only
when the collector asks (at start, then at most once per re-check period).
The command runs and its parsing are the scheduler layer's (:mod:`sdcc_lab.scheduler`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone

from ..scheduler.commands import run_command, run_command_blocking
from ..scheduler.errors import SchedulerUnparseable
from ..scheduler.slurm import SlurmParseError, parse_scontrol_job
from .facts import Facts


def _int(environ: Mapping[str, str], name: str, problems: list[str]) -> int | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        problems.append(f"{name}={raw!r} is not an integer; ignored")
        return None
    if value < 0:
        problems.append(f"{name}={raw!r} is negative; ignored")
        return None
    return value


def _epoch(environ: Mapping[str, str], name: str, problems: list[str]) -> datetime | None:
    value = _int(environ, name, problems)
    if value is None or value == 0:
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        problems.append(f"{name}={value} is not a time; ignored")
        return None


def _str(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def gpu_list(value: str | None) -> list[str] | None:
    """Device ids in ``CUDA_VISIBLE_DEVICES``/``SLURM_JOB_GPUS`` (``0,1`` or UUIDs).

    None when unset; ``[]`` for an empty value or HTCondor's ``NoDevFiles``.
    """
    if value is None:
        return None
    v = value.strip()
    if v in ("", "NoDevFiles", "-1"):
        return []
    return [x.strip() for x in v.split(",") if x.strip()]


def slurm_from_env(environ: Mapping[str, str]) -> Facts:
    """What the job's environment says (Slurm sets these in every batch job)."""
    problems: list[str] = []
    cpus = _int(environ, "SLURM_CPUS_ON_NODE", problems)
    memory_mib = _int(environ, "SLURM_MEM_PER_NODE", problems)
    if memory_mib is None:
        per_cpu = _int(environ, "SLURM_MEM_PER_CPU", problems)
        memory_mib = per_cpu * cpus if per_cpu is not None and cpus is not None else None
    gpus = _int(environ, "SLURM_GPUS_ON_NODE", problems)
    if gpus is None:
        listed = gpu_list(environ.get("SLURM_JOB_GPUS"))
        gpus = len(listed) if listed is not None else None
    start = _epoch(environ, "SLURM_JOB_START_TIME", problems)
    end = _epoch(environ, "SLURM_JOB_END_TIME", problems)  # Slurm >= 23.02
    limit = int((end - start).total_seconds()) if start and end and end >= start else None
    job_id = _str(environ, "SLURM_JOB_ID")
    return Facts(
        job_id=job_id,
        partition=_str(environ, "SLURM_JOB_PARTITION"),
        account=_str(environ, "SLURM_JOB_ACCOUNT"),
        qos=_str(environ, "SLURM_JOB_QOS"),
        nodes=_str(environ, "SLURM_JOB_NODELIST") or _str(environ, "SLURMD_NODENAME"),
        cpus=float(cpus) if cpus is not None else None,
        memory_bytes=memory_mib << 20 if memory_mib is not None else None,
        gpus=gpus,
        start=start,
        end=end,
        limit_seconds=limit,
        limits_from="slurm" if job_id else None,
        problems=tuple(problems),
    )


class SlurmQuery:
    """Runs ``scontrol show job -o ID`` and turns its answer into :class:`Facts`.

    Failures are the scheduler layer's errors (:class:`SchedulerError`: refused,
    unavailable, unparseable). ``calls`` counts every command started (the
    benchmark and the tests read it).
    """

    def __init__(
        self, job_id: str, scontrol: Sequence[str] = ("scontrol",), timeout: float = 10
    ) -> None:
        self.job_id = job_id
        self.scontrol = list(scontrol)
        self.timeout = timeout
        self.calls = 0

    def _argv(self) -> list[str]:
        self.calls += 1
        return [*self.scontrol, "show", "job", "-o", self.job_id]

    @staticmethod
    def _env() -> dict[str, str]:
        return {**os.environ, "SLURM_TIME_FORMAT": "standard"}

    def run(self) -> Facts:
        """Blocking (a thread, or a kernel)."""
        argv = self._argv()
        return self._facts(
            argv, run_command_blocking(argv, timeout=self.timeout, env=self._env()).stdout
        )

    async def fetch(self) -> Facts:
        """:meth:`run` for an event loop."""
        argv = self._argv()
        return self._facts(
            argv, (await run_command(argv, timeout=self.timeout, env=self._env())).stdout
        )

    @staticmethod
    def _facts(argv: list[str], stdout: str) -> Facts:
        try:
            job = parse_scontrol_job(stdout)
        except SlurmParseError as e:
            raise SchedulerUnparseable(
                f"cannot read the output of {argv[0]}: {e}", argv=argv
            ) from None
        limit = job.time_limit_seconds
        end = job.end_time
        if end is None and job.start_time is not None and limit is not None:
            end = job.start_time + timedelta(seconds=limit)
        return Facts(
            job_id=job.job_id,
            partition=job.partition,
            account=job.account,
            qos=job.qos,
            nodes=job.nodes,
            cpus=float(job.num_cpus) if job.num_cpus is not None else None,
            memory_bytes=job.memory_bytes,
            gpus=job.gpus,
            start=job.start_time,
            end=end if limit is not None else None,
            limit_seconds=limit,
            limits_from="slurm",
        )
