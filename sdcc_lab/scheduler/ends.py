"""How a batch job ended, the same for Slurm and HTCondor: :class:`JobEnd`.

Built from what the scheduler keeps after the job: Slurm's accounting
(:func:`slurm_job_end` over :func:`~sdcc_lab.scheduler.slurm.sacct.parse_sacct`
rows) or HTCondor's job ad (:func:`condor_job_end`, from ``condor_history -l``
or ``condor_q -long`` for a held job). The hub turns a :class:`JobEnd` into
words (``sdcc_lab.hub.ends``); nothing here says anything to a user.

Kinds (``JobEnd.kind``):

==================  =====================================================================
``time_limit``      Slurm TIMEOUT / DEADLINE; HTCondor removed or held for its time limit
``out_of_memory``   Slurm OUT_OF_MEMORY (the job or any step), or SIGKILL with MaxRSS over
                    ReqMem (OverMemoryKill); HTCondor held over memory
``cancelled``       Slurm CANCELLED (``cancelled_by``: the uid); HTCondor removed (the user)
``node_fail``       Slurm NODE_FAIL / BOOT_FAIL
``preempted``       Slurm PREEMPTED
``failed``          Slurm FAILED; HTCondor exited non-zero or by a signal
``held``            HTCondor held for any other reason (``reason``: HoldReason)
``completed``       the server exited by itself with code 0
``unknown``         anything else (``state`` says what the scheduler said)
==================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from .htcondor import HTCondorParseError, get
from .slurm.common import SlurmParseError
from .slurm.sacct import SacctRow

KINDS = (
    "time_limit",
    "out_of_memory",
    "cancelled",
    "node_fail",
    "preempted",
    "failed",
    "held",
    "completed",
    "unknown",
)

_SLURM_KINDS = {
    "TIMEOUT": "time_limit",
    "DEADLINE": "time_limit",
    "OUT_OF_MEMORY": "out_of_memory",
    "CANCELLED": "cancelled",
    "NODE_FAIL": "node_fail",
    "BOOT_FAIL": "node_fail",
    "PREEMPTED": "preempted",
    "FAILED": "failed",
    "COMPLETED": "completed",
}

# HTCondor's HoldReasonCode values that name a limit (condor_q's "hold reason codes").
_CONDOR_HOLD_MEMORY = 34  # "memory usage exceeded a request_memory-derived limit"
_CONDOR_HOLD_TIME = {46, 47}  # job duration / execute duration exceeded
_CONDOR_REMOVED, _CONDOR_COMPLETED, _CONDOR_HELD = 3, 4, 5
_SIGKILL = 9


@dataclass(frozen=True)
class JobEnd:
    """How and when a job ended. Sizes in bytes, times UTC; None where the scheduler said nothing."""

    kind: str
    #: the scheduler's own word for it ("TIMEOUT", "CANCELLED by 0", "held (code 34)")
    state: str
    ended_at: datetime | None = None
    exit_code: int | None = None
    signal: int | None = None
    #: who cancelled it: Slurm's uid, HTCondor's user name
    cancelled_by: str | None = None
    peak_memory_bytes: int | None = None
    memory_limit_bytes: int | None = None
    time_limit_seconds: int | None = None
    #: the scheduler's detail (HTCondor's HoldReason / RemoveReason, Slurm's Reason)
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ended_at"] = self.ended_at.isoformat() if self.ended_at else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobEnd:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if values.get("ended_at"):
            values["ended_at"] = datetime.fromisoformat(str(values["ended_at"]))
        if values.get("kind") not in KINDS:
            values["kind"] = "unknown"
        return cls(**values)


def slurm_job_end(rows: Sequence[SacctRow], job_id: str) -> JobEnd:
    """The end of ``job_id`` from its sacct rows (the allocation's and its steps').

    The allocation's state says how it ended, except that a step killed for
    memory makes it ``out_of_memory`` whatever the allocation says; the peak is
    the largest MaxRSS of any step. The memory limit is the allocation's ReqMem
    (per node: one node per session).
    """
    mine = [r for r in rows if r.job_id == job_id]
    job = next((r for r in mine if r.step is None), None)
    if job is None:
        raise SlurmParseError(f"sacct has no allocation row for job {job_id}")
    steps = [r for r in mine if r.step is not None]
    peaks = [r.max_rss_bytes for r in steps if r.max_rss_bytes is not None]
    kind = _SLURM_KINDS.get(job.state, "unknown")
    limit = job.req_mem_bytes if not job.req_mem_per_cpu else None
    peak = max(peaks) if peaks else None
    if any(r.state == "OUT_OF_MEMORY" for r in mine):
        kind = "out_of_memory"  # task/cgroup's OOM event
    elif (
        kind in ("failed", "cancelled")
        and job.exit_signal == _SIGKILL
        and peak is not None
        and limit is not None
        and peak > limit
    ):
        # jobacct_gather's OverMemoryKill (no cgroups) SIGKILLs the step without a state
        # of its own: the job is FAILED 0:9, its step "CANCELLED by 0", MaxRSS over ReqMem.
        kind = "out_of_memory"
    if kind == "completed" and (job.exit_code or job.exit_signal):
        kind = "failed"
    return JobEnd(
        kind=kind,
        state=f"CANCELLED by {job.cancelled_by}" if job.cancelled_by else job.state,
        ended_at=job.end,
        exit_code=job.exit_code,
        signal=job.exit_signal or None,
        cancelled_by=job.cancelled_by,
        peak_memory_bytes=peak,
        memory_limit_bytes=limit,
        time_limit_seconds=job.time_limit_seconds,
        reason=job.reason,
    )


def _int(ad: Mapping[str, object], name: str) -> int | None:
    value = get(ad, name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    raise HTCondorParseError(f"{name} is not a number: {value!r}")


def _str(ad: Mapping[str, object], name: str) -> str | None:
    value = get(ad, name)
    return value if isinstance(value, str) and value else None


def _removed_by(reason: str | None) -> str | None:
    """``via condor_rm (by user alice)`` -> ``alice``."""
    if reason and "(by user " in reason:
        return reason.rpartition("(by user ")[2].rstrip(")").strip() or None
    return None


def condor_job_end(ad: Mapping[str, object]) -> JobEnd:
    """The end of the job an ad describes (``condor_history -l``, or a held job's ``condor_q -long``).

    Memory: ``MemoryUsage`` (MiB, the peak) against ``RequestMemory`` (MiB).
    The end time is ``CompletionDate`` where set (an exit), else
    ``EnteredCurrentStatus`` (removed, held).
    """
    status = _int(ad, "JobStatus")
    if status is None:
        raise HTCondorParseError("the job ad has no JobStatus")
    usage, request = _int(ad, "MemoryUsage"), _int(ad, "RequestMemory")
    when = _int(ad, "CompletionDate") or _int(ad, "EnteredCurrentStatus")
    exit_code = _int(ad, "ExitCode")
    signal = _int(ad, "ExitSignal") if get(ad, "ExitBySignal") is True else None
    hold_reason, remove_reason = _str(ad, "HoldReason"), _str(ad, "RemoveReason")
    hold_code = _int(ad, "HoldReasonCode")
    base: dict[str, Any] = {
        "ended_at": datetime.fromtimestamp(when, timezone.utc) if when else None,
        "peak_memory_bytes": usage * (1 << 20) if usage is not None else None,
        "memory_limit_bytes": request * (1 << 20) if request is not None else None,
        "time_limit_seconds": _int(ad, "AllowedJobDuration"),
        "exit_code": exit_code,
        "signal": signal,
    }
    if status == _CONDOR_HELD or (status == _CONDOR_REMOVED and hold_code):
        # A removed job that was held first keeps its hold: that is why it ended.
        if hold_code == _CONDOR_HOLD_MEMORY:
            kind = "out_of_memory"
        elif hold_code in _CONDOR_HOLD_TIME:
            kind = "time_limit"
        else:
            kind = "held"
        return JobEnd(
            kind=kind, state=f"held (code {hold_code})", reason=hold_reason or remove_reason, **base
        )
    if status == _CONDOR_REMOVED:
        return JobEnd(
            kind="cancelled",
            state="removed",
            cancelled_by=_removed_by(remove_reason),
            reason=remove_reason,
            **base,
        )
    if status == _CONDOR_COMPLETED:
        kind = "failed" if signal is not None or (exit_code or 0) != 0 else "completed"
        return JobEnd(kind=kind, state="completed", **base)
    return JobEnd(kind="unknown", state=f"JobStatus {status}", **base)
