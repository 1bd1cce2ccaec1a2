"""``sbatch --test-only`` output: when the scheduler would start a job, or why not.

sbatch prints its answer on standard error (``info()``), after any message of
the site's job_submit plugin::

    sbatch: Job 334 to start at 2026-11-27T14:08:17 using 1 processors on nodes vm in partition cpu

The same words since Slurm 17.11 (21.08 to 25.11 included); some builds add a
word after the time (``... 2026-08-01T20:10:23 a using 8 processors ...``) or
``on cluster NAME`` before ``using`` (federations), and a ``  Preempts: 12,13``
line may follow. The time is Slurm's ``SLURM_TIME_FORMAT``: the portal runs the
command with ``SLURM_TIME_FORMAT=%s`` (seconds since the epoch, no zone to
guess); the standard ``YYYY-MM-DDTHH:MM:SS`` (the machine's local time) is read
too. A refusal exits non-zero with ``allocation failure: <reason>`` or
``sbatch: error: <reason>`` lines: :func:`refusal_reason` picks Slurm's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from .common import SlurmParseError, _short

_WILL_RUN_RE = re.compile(
    r"Job (?P<job>\d+) to start at (?P<start>\S+)"
    r"(?: on cluster (?P<cluster>\S+))?(?: \S+)?"
    r" using (?P<procs>\d+) processors on (?:nodes )?(?P<nodes>\S*)"
    r"(?: in partition (?P<partition>\S+))?"
)
_REFUSAL_PREFIXES = ("allocation failure:", "sbatch: error:", "error:")
# Lines sbatch prints around a refusal that are not the reason itself.
_NOT_A_REASON = ("Batch job submission failed",)


@dataclass(frozen=True)
class WillRun:
    """The scheduler's answer to a test submission that it accepted."""

    job_id: str
    start: datetime  # timezone-aware UTC
    processors: int
    nodes: str
    partition: str | None
    preempts: tuple[str, ...] = ()


def _start_time(text: str, tz: tzinfo | None) -> datetime:
    if text.isdigit():
        return datetime.fromtimestamp(int(text), timezone.utc)
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SlurmParseError(
            f"sbatch --test-only start time not understood: {_short(text)}"
        ) from None
    # Slurm prints local time without a zone: the hub's zone is the cluster's.
    local = when.replace(tzinfo=tz) if tz is not None else when.astimezone()
    return local.astimezone(timezone.utc)


def parse_test_only(text: str, tz: tzinfo | None = None) -> WillRun:
    """The accepted answer in sbatch's output (stderr, or both streams joined).

    ``tz`` is the zone of a standard-format time (default: the machine's).
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"sbatch output must be a string, not {type(text).__name__}")
    m = _WILL_RUN_RE.search(text)
    if m is None:
        raise SlurmParseError(f"sbatch --test-only gave no start time: {_short(text)}")
    preempts: tuple[str, ...] = ()
    p = re.search(r"Preempts: ([0-9,_ ]+)", text)
    if p:
        preempts = tuple(x.strip() for x in p.group(1).split(",") if x.strip())
    return WillRun(
        job_id=m.group("job"),
        start=_start_time(m.group("start"), tz),
        processors=int(m.group("procs")),
        nodes=m.group("nodes"),
        partition=m.group("partition"),
        preempts=preempts,
    )


def refusal_reason(text: str) -> str:
    """Slurm's own words for a refused test submission (the most specific line).

    ``sbatch: error: QOSMaxWallDurationPerJobLimit`` followed by ``allocation
    failure: Job violates accounting/QOS policy (...)`` gives both, joined.
    """
    reasons: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        for prefix in _REFUSAL_PREFIXES:
            if s.startswith(prefix):
                reason = s[len(prefix) :].strip()
                reason = reason.removeprefix("Batch job submission failed:").strip()
                if reason and reason not in reasons and reason not in _NOT_A_REASON:
                    reasons.append(reason)
                break
    if not reasons:
        s = text.strip()
        return s.splitlines()[-1].strip() if s else "refused without a reason"
    return "; ".join(reasons)


__all__ = ["WillRun", "parse_test_only", "refusal_reason"]
