"""``sacct -nP -j ID --format=...``: how a job ended, one row per job and step.

The parser is driven by the field list the command was given (sacct prints no
header with ``-n``), so the same code reads the portal's own query
(:data:`SACCT_FIELDS`) and any other ``--format`` that names the fields used
here. ``-p`` (a trailing ``|``) and ``-P`` are both read.

What each field looks like, in every version from 2.6 to 25.11:

- ``State``: ``TIMEOUT``, ``OUT_OF_MEMORY``, ``CANCELLED by 1000`` (the uid
  that cancelled), ``NODE_FAIL``…; never truncated with ``-P``;
- ``ExitCode``: ``code:signal`` (``0:15``; ``-2:0`` on a failed node's step);
- ``MaxRSS``: steps only (empty on the allocation's row), ``7884K``, ``72.50M``, ``0``;
- ``ReqMem``: ``4096M`` (21.08+), ``4096Mn``/``1000Mc`` (per node/CPU, before 21.08);
- ``Start``/``End``: ISO local time, or epoch seconds with ``SLURM_TIME_FORMAT=%s``
  (what the portal sets), ``Unknown`` while running.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from .common import SlurmParseError, _null, _short
from .units import parse_duration, parse_memory

#: The fields the portal asks for (``sacct --format=`` joined by commas).
SACCT_FIELDS: tuple[str, ...] = (
    "JobID",
    "State",
    "ExitCode",
    "Reason",
    "Start",
    "End",
    "Elapsed",
    "Timelimit",
    "MaxRSS",
    "ReqMem",
    "Partition",
    "Account",
    "QOS",
)

_CANCELLED_BY_RE = re.compile(r"^CANCELLED by (\S+)$")
_EXIT_RE = re.compile(r"^(-?\d+):(-?\d+)$")
_REQMEM_RE = re.compile(r"^(\d+(?:\.\d+)?[KMGTP]?)([nc]?)$", re.IGNORECASE)


@dataclass(frozen=True)
class SacctRow:
    """One line of sacct: the job's allocation (``step`` None) or one of its steps."""

    job_id: str
    step: str | None  # "batch", "extern", "0"…
    state: str  # base state: "CANCELLED", never "CANCELLED by 0"
    cancelled_by: str | None  # the uid (as printed) of "CANCELLED by <uid>"
    exit_code: int | None
    exit_signal: int | None
    reason: str | None
    start: datetime | None
    end: datetime | None
    elapsed_seconds: int | None
    time_limit_seconds: int | None
    max_rss_bytes: int | None
    #: requested memory in bytes, per node ("n"/no suffix) or per CPU ("c")
    req_mem_bytes: int | None
    req_mem_per_cpu: bool
    partition: str | None
    account: str | None
    qos: str | None


def _time(value: str | None, tz: tzinfo | None, what: str) -> datetime | None:
    v = _null(value)
    if v is None or v in ("Unknown", "0"):
        return None
    if v.isdigit():  # SLURM_TIME_FORMAT=%s: no time zone to guess
        return datetime.fromtimestamp(int(v), timezone.utc)
    try:
        naive = datetime.strptime(v, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SlurmParseError(
            f"{what}: unreadable time {_short(v)} (set SLURM_TIME_FORMAT=%s or standard)"
        ) from None
    local = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    return local.astimezone(timezone.utc)


def _exit(value: str | None) -> tuple[int | None, int | None]:
    v = _null(value)
    if v is None:
        return None, None
    m = _EXIT_RE.match(v)
    if not m:
        raise SlurmParseError(f"ExitCode: expected code:signal, got {_short(v)}")
    return int(m.group(1)), int(m.group(2))


def _req_mem(value: str | None) -> tuple[int | None, bool]:
    v = _null(value)
    if v is None or v in ("0", "0n", "0c"):
        return None, False
    m = _REQMEM_RE.match(v)
    if not m:
        raise SlurmParseError(f"ReqMem: unreadable size {_short(v)}")
    return parse_memory(m.group(1)), m.group(2).lower() == "c"


def _state(value: str) -> tuple[str, str | None]:
    v = value.strip()
    if not v:
        raise SlurmParseError("State is empty")
    m = _CANCELLED_BY_RE.match(v)
    if m:
        return "CANCELLED", m.group(1)
    return v.split()[0].upper(), None


def parse_sacct(
    text: str, fields: Sequence[str] = SACCT_FIELDS, tz: tzinfo | None = None
) -> list[SacctRow]:
    """Every row of ``sacct -n -P`` (or ``-p``) output printed with ``--format=fields``.

    ``JobID`` and ``State`` must be among ``fields``; the others are None when
    absent. ``tz`` is the time zone of ISO times (default: this machine's).
    """
    names = [f.strip().lower() for f in fields]
    if "jobid" not in names or "state" not in names:
        raise SlurmParseError("sacct fields must include JobID and State")
    rows: list[SacctRow] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cells = line.split("|")
        if len(cells) == len(names) + 1 and cells[-1] == "":
            cells = cells[:-1]  # -p ends every line with the delimiter
        if len(cells) != len(names):
            raise SlurmParseError(
                f"sacct line {number}: {len(cells)} fields, expected {len(names)}: {_short(line)}"
            )
        rec = dict(zip(names, cells, strict=True))
        job_id, _, step = rec["jobid"].strip().partition(".")
        if not job_id:
            raise SlurmParseError(f"sacct line {number}: no JobID")
        state, by = _state(rec["state"])
        code, signal = _exit(rec.get("exitcode"))
        req_mem, per_cpu = _req_mem(rec.get("reqmem"))
        limit = _null(rec.get("timelimit"))
        elapsed = _null(rec.get("elapsed"))
        rss = _null(rec.get("maxrss"))
        rows.append(
            SacctRow(
                job_id=job_id,
                step=step or None,
                state=state,
                cancelled_by=by,
                exit_code=code,
                exit_signal=signal,
                reason=_null(rec.get("reason")),
                start=_time(rec.get("start"), tz, "Start"),
                end=_time(rec.get("end"), tz, "End"),
                elapsed_seconds=parse_duration(elapsed) if elapsed else None,
                time_limit_seconds=(
                    parse_duration(limit) if limit and limit != "Partition_Limit" else None
                ),
                max_rss_bytes=parse_memory(rss) if rss else None,
                req_mem_bytes=req_mem,
                req_mem_per_cpu=per_cpu,
                partition=_null(rec.get("partition")),
                account=_null(rec.get("account")),
                qos=_null(rec.get("qos")),
            )
        )
    return rows
