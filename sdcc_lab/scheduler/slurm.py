"""Parsers of Slurm command outputs (Slurm 21.08 to 25.11).

Pure functions: each takes the text (or decoded JSON) a command printed and
returns frozen dataclasses. Nothing here runs a command. Output that cannot be
understood raises :class:`SlurmParseError` with a message naming what was
wrong; no ``IndexError``/``KeyError``/``TypeError`` leaks out.

Commands covered:

- ``scontrol show partition -o`` -> :func:`parse_partitions`
- ``sacctmgr -nP show assoc ... format=...`` and
  ``sacctmgr -nP show users withassoc format=...`` -> :func:`parse_associations`
- ``sacctmgr -nP show qos format=...`` -> :func:`parse_qos`
- ``scontrol show job -o ID`` -> :func:`parse_scontrol_job`
- ``squeue --json``, ``scontrol show job --json`` and slurmrestd
  ``/slurm/vX/job(s)`` (data_parser v0.0.37 to v0.0.44) -> :func:`parse_squeue_json`
- ``sbatch --parsable`` -> :func:`parse_sbatch_parsable`

Times in ``scontrol`` text (``SLURM_TIME_FORMAT=standard``, the default) carry
no zone: they are read in the machine's local zone unless a ``tz`` is given.
Every datetime returned is timezone-aware UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from .errors import SchedulerUnparseable

__all__ = [
    "QOS",
    "Association",
    "Job",
    "Partition",
    "SlurmParseError",
    "gpus_in_tres",
    "parse_associations",
    "parse_duration",
    "parse_memory",
    "parse_partitions",
    "parse_qos",
    "parse_sbatch_parsable",
    "parse_scontrol_job",
    "parse_scontrol_jobs",
    "parse_scontrol_oneline",
    "parse_squeue_json",
    "parse_tres",
]


class SlurmParseError(SchedulerUnparseable):
    """Slurm output that cannot be understood."""


def _short(text: object, limit: int = 80) -> str:
    """A quoted excerpt of ``text`` for error messages."""
    s = repr(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


# --------------------------------------------------------------------------- durations

_UNLIMITED = frozenset({"", "UNLIMITED", "INFINITE", "NONE"})
_DURATION_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_duration(text: str) -> int | None:
    """Seconds in a Slurm time string, or None for no limit.

    Accepts ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM`` and
    ``D-HH:MM:SS``; ``UNLIMITED``, ``INFINITE``, ``NONE`` (a partition without
    DefaultTime) and the empty string give None.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"duration must be a string, not {type(text).__name__}")
    s = text.strip()
    if s.upper() in _UNLIMITED:
        return None
    m = _DURATION_RE.match(s)
    if not m:
        raise SlurmParseError(f"invalid Slurm duration {_short(text)}")
    days_s, a, b, c = m.groups()
    x, y, z = int(a), int(b) if b is not None else None, int(c) if c is not None else None
    if days_s is not None:
        # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = x, y or 0, z or 0
        days = int(days_s)
    elif z is not None:  # HH:MM:SS
        days, hours, minutes, seconds = 0, x, y or 0, z
    elif y is not None:  # MM:SS
        days, hours, minutes, seconds = 0, 0, x, y
    else:  # MM
        days, hours, minutes, seconds = 0, 0, x, 0
    if (days_s is not None or z is not None) and (minutes > 59 or seconds > 59):
        raise SlurmParseError(f"invalid Slurm duration {_short(text)}: field out of range")
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


# --------------------------------------------------------------------------- memory

_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]?)$", re.IGNORECASE)
_MEMORY_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def parse_memory(text: str) -> int | None:
    """Bytes in a Slurm memory size (``4000M``, ``62.50G``, ``1T``, ``512K``).

    A plain number is MiB, as in Slurm. ``UNLIMITED``/``INFINITE``/empty give None.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"memory size must be a string, not {type(text).__name__}")
    s = text.strip()
    if s.upper() in ("", "UNLIMITED", "INFINITE"):
        return None
    m = _MEMORY_RE.match(s)
    if not m:
        raise SlurmParseError(f"invalid Slurm memory size {_short(text)}")
    unit = m.group(2).upper() or "M"
    return round(float(m.group(1)) * _MEMORY_UNITS[unit])


# --------------------------------------------------------------------------- TRES / GRES


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=2,mem=8G,node=1,gres/gpu=1`` as a dict; ``(null)``/empty give {}."""
    s = text.strip()
    if s in ("", "(null)", "N/A"):
        return {}
    out: dict[str, str] = {}
    for item in s.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SlurmParseError(f"invalid TRES item {_short(item)} in {_short(text)}")
        out[name.strip()] = value.strip()
    return out


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SlurmParseError(f"{what}: not an integer: {_short(text)}") from None


def gpus_in_tres(tres: Mapping[str, str]) -> tuple[int, tuple[str, ...]] | None:
    """GPU count and types in a parsed TRES dict, or None when it names no GPU.

    The untyped ``gres/gpu=N`` is the total; when it is missing the typed
    ``gres/gpu:TYPE=N`` entries are summed.
    """
    total: int | None = None
    typed: dict[str, int] = {}
    for name, value in tres.items():
        if name == "gres/gpu":
            total = _int(value, f"TRES {name}")
        elif name.startswith("gres/gpu:"):
            typed[name[len("gres/gpu:") :]] = _int(value, f"TRES {name}")
    if total is None and not typed:
        return None
    if total is None:
        total = sum(typed.values())
    return total, tuple(typed)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses (``gpu:2(IDX:0,2),shard:1``)."""
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _gpus_in_gres_list(text: str) -> tuple[int, tuple[str, ...]] | None:
    """GPUs in a TRES-per-X or GRES string, or None when it names no GPU.

    Accepts the spellings of all versions: ``gpu:2`` (21.08), ``gres:gpu:2``
    (22.05), ``gres/gpu:2``, ``gres/gpu:a100:2``, ``gpu:h100:2(IDX:0-1)``
    (gres_detail), ``gres/gpu=2`` and a bare ``gpu`` (one GPU).
    """
    found = False
    count = 0
    types: list[str] = []
    for item in _split_top_level(text):
        item = item.split("(", 1)[0].replace("=", ":")
        for prefix in ("gres/", "gres:"):
            item = item.removeprefix(prefix)
        parts = item.split(":")
        if parts[0] != "gpu":
            continue
        found = True
        rest = parts[1:]
        n = 1
        if rest and rest[-1].isdigit():
            n = int(rest.pop())
        if rest and rest[0] and rest[0] not in types:
            types.append(rest[0])
        count += n
    return (count, tuple(types)) if found else None


# --------------------------------------------------------------------------- scontrol -o

# A new pair starts at a space followed by ``Key=`` where Key starts with an
# upper-case letter (all scontrol keys do: JobId, MCS_label, AllocNode:Sid,
# CPUs/Task, ReqB:S:C:T...). Anything else continues the previous value.
_KEY_RE = re.compile(r"^([A-Z][A-Za-z0-9_:/]*)=(.*)$", re.DOTALL)


def parse_scontrol_oneline(line: str) -> dict[str, str]:
    """One ``scontrol show ... -o`` record as ``{Key: Value}``.

    The rule: the line is split on whitespace; a token of the form ``Key=...``
    (Key: an upper-case letter then letters, digits, ``_``, ``:`` or ``/``)
    starts a new pair, and every other token is appended, after one space, to
    the value before it. So free text such as ``Reason=Not responding [slurm@…]``,
    ``Comment=two words`` or ``WorkDir=/path with space`` stays whole, as long as
    no word inside it itself looks like ``Key=``. Runs of spaces inside a value
    become one space. When a key repeats (``-d`` adds per-node ``Nodes=``), the
    first value is kept.
    """
    if not isinstance(line, str):
        raise SlurmParseError(f"scontrol record must be a string, not {type(line).__name__}")
    out: dict[str, str] = {}
    key: str | None = None
    values: list[str] = []

    def flush() -> None:
        if key is not None and key not in out:
            out[key] = " ".join(values)

    for token in line.split():
        m = _KEY_RE.match(token)
        if m:
            flush()
            key = m.group(1)
            values = [m.group(2)] if m.group(2) else []
        elif key is None:
            raise SlurmParseError(f"not a scontrol Key=Value record: {_short(line)}")
        else:
            values.append(token)
    flush()
    if not out:
        raise SlurmParseError("empty scontrol record")
    return out


def _records(text: str) -> list[dict[str, str]]:
    if not isinstance(text, str):
        raise SlurmParseError(f"scontrol output must be a string, not {type(text).__name__}")
    return [parse_scontrol_oneline(ln) for ln in text.splitlines() if ln.strip()]


def _null(value: str | None) -> str | None:
    """None for Slurm's empty markers: ``(null)``, ``N/A``, ``None``, ``""``."""
    if value is None:
        return None
    v = value.strip()
    return None if v in ("", "(null)", "N/A", "None", "n/a") else v


def _name_list(value: str | None) -> tuple[str, ...] | None:
    """A comma list where ``ALL`` (or absence) means None: everyone."""
    v = _null(value)
    if v is None or v.upper() == "ALL":
        return None
    return tuple(x for x in v.split(",") if x)


def _deny_list(value: str | None) -> tuple[str, ...]:
    v = _null(value)
    return tuple(x for x in v.split(",") if x) if v else ()


# --------------------------------------------------------------------------- partitions


@dataclass(frozen=True)
class Partition:
    """One partition of ``scontrol show partition -o``.

    ``allow_*`` None means ALL; ``deny_*`` is empty when unset. ``gpus`` is the
    partition's total ``gres/gpu`` in its TRES (0 if none), ``gpu_types`` the
    types named there (``gres/gpu:a100=4`` -> ``("a100",)``).
    """

    name: str
    allow_accounts: tuple[str, ...] | None
    deny_accounts: tuple[str, ...]
    allow_qos: tuple[str, ...] | None
    deny_qos: tuple[str, ...]
    allow_groups: tuple[str, ...] | None
    max_time_seconds: int | None
    default_time_seconds: int | None
    gpu_types: tuple[str, ...]
    gpus: int
    state: str
    is_default: bool
    hidden: bool = False
    qos: str | None = None
    nodes: str | None = None
    total_cpus: int | None = None
    total_nodes: int | None = None


def _opt_int(value: str | None, what: str) -> int | None:
    v = _null(value)
    return None if v is None or v.upper() == "UNLIMITED" else _int(v, what)


def _partition(rec: Mapping[str, str]) -> Partition:
    name = rec.get("PartitionName")
    if not name:
        raise SlurmParseError(f"partition record without PartitionName: {_short(dict(rec))}")
    gpu = gpus_in_tres(parse_tres(rec.get("TRES", "")))
    return Partition(
        name=name,
        allow_accounts=_name_list(rec.get("AllowAccounts")),
        deny_accounts=_deny_list(rec.get("DenyAccounts")),
        allow_qos=_name_list(rec.get("AllowQos")),
        deny_qos=_deny_list(rec.get("DenyQos")),
        allow_groups=_name_list(rec.get("AllowGroups")),
        max_time_seconds=parse_duration(rec.get("MaxTime", "")),
        default_time_seconds=parse_duration(rec.get("DefaultTime", "")),
        gpu_types=gpu[1] if gpu else (),
        gpus=gpu[0] if gpu else 0,
        state=rec.get("State", "UNKNOWN").upper(),
        is_default=rec.get("Default", "NO").upper() == "YES",
        hidden=rec.get("Hidden", "NO").upper() == "YES",
        qos=_null(rec.get("QoS")),
        nodes=_null(rec.get("Nodes")),
        total_cpus=_opt_int(rec.get("TotalCPUs"), f"partition {name} TotalCPUs"),
        total_nodes=_opt_int(rec.get("TotalNodes"), f"partition {name} TotalNodes"),
    )


def parse_partitions(text: str) -> list[Partition]:
    """Every partition in ``scontrol show partition -o`` output (one per line)."""
    return [_partition(rec) for rec in _records(text)]


# --------------------------------------------------------------------------- sacctmgr


def _rows(text: str, fields: Sequence[str], what: str) -> list[dict[str, str]]:
    """``sacctmgr -nP`` lines as dicts keyed by lower-case field name.

    A trailing ``|`` (``-p`` rather than ``-P``) is accepted.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"{what} output must be a string, not {type(text).__name__}")
    if isinstance(fields, str) or not fields:
        raise SlurmParseError(f"{what}: fields must be a non-empty sequence of names")
    names = [f.strip().lower() for f in fields]
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("|")
        if len(cols) == len(names) + 1 and cols[-1] == "":
            cols.pop()
        if len(cols) != len(names):
            raise SlurmParseError(
                f"{what} line {n} has {len(cols)} fields, expected {len(names)} "
                f"({','.join(names)}): {_short(line)}"
            )
        rows.append({k: v.strip() for k, v in zip(names, cols, strict=True)})
    return rows


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(x for x in (value or "").split(",") if x)


@dataclass(frozen=True)
class Association:
    """A user's association: account, partition (None = any), QOS and limits."""

    user: str | None
    account: str
    partition: str | None
    qos: tuple[str, ...]
    default_qos: str | None
    max_wall_seconds: int | None
    default_account: str | None = None


def parse_associations(
    text: str, fields: Sequence[str], user: str | None = None
) -> list[Association]:
    """``sacctmgr -nP show assoc ... format=<fields>`` (or ``show users withassoc``).

    ``fields`` name the columns as in the format string (case-insensitive);
    user, account, partition, qos, defaultqos, maxwall and defaultaccount are
    read, others ignored. ``user`` fills ``Association.user`` when no user column was asked.
    An empty cell means unset (partition None = any, no QOS, no MaxWall).
    """
    out = []
    for row in _rows(text, fields, "sacctmgr associations"):
        account = row.get("account", "")
        if not account:
            raise SlurmParseError(f"sacctmgr association without an account: {row}")
        out.append(
            Association(
                user=row.get("user") or user,
                account=account,
                partition=row.get("partition") or None,
                qos=_csv(row.get("qos")),
                default_qos=row.get("defaultqos") or None,
                max_wall_seconds=parse_duration(row.get("maxwall", "")),
                default_account=row.get("defaultaccount") or None,
            )
        )
    return out


@dataclass(frozen=True)
class QOS:
    """A QOS of ``sacctmgr show qos``: name, MaxWall (None = none) and flags."""

    name: str
    max_wall_seconds: int | None
    flags: tuple[str, ...]


def parse_qos(text: str, fields: Sequence[str]) -> list[QOS]:
    """``sacctmgr -nP show qos format=<fields>`` (name, maxwall, flags read)."""
    out = []
    for row in _rows(text, fields, "sacctmgr qos"):
        name = row.get("name", "")
        if not name:
            raise SlurmParseError(f"sacctmgr qos row without a name: {row}")
        out.append(
            QOS(
                name=name,
                max_wall_seconds=parse_duration(row.get("maxwall", "")),
                flags=_csv(row.get("flags")),
            )
        )
    return out


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


def _scontrol_time(value: str | None, tz: tzinfo | None, what: str) -> datetime | None:
    v = _null(value)
    if v is None or v in ("Unknown", "0"):
        return None
    try:
        naive = datetime.strptime(v, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SlurmParseError(
            f"{what}: unreadable time {_short(v)} (set SLURM_TIME_FORMAT=standard)"
        ) from None
    local = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    return local.astimezone(timezone.utc)


def _user_name(value: str | None) -> str | None:
    """``user01(1001)`` -> ``user01``."""
    v = _null(value)
    return v.split("(", 1)[0] or None if v else None


def _scontrol_gpus(rec: Mapping[str, str], tres: Mapping[str, str]) -> tuple[int, tuple[str, ...]]:
    found = gpus_in_tres(tres)
    if found:
        return found
    for key in ("TresPerJob", "TresPerNode", "TresPerTask", "Gres"):
        v = _null(rec.get(key))
        found = _gpus_in_gres_list(v) if v else None
        if found:
            if key == "TresPerNode":
                nodes = _opt_int(rec.get("NumNodes", "").split("-")[0], "NumNodes") or 1
                return found[0] * nodes, found[1]
            if key == "TresPerTask":
                tasks = _opt_int(rec.get("NumTasks"), "NumTasks") or 1
                return found[0] * tasks, found[1]
            return found
    return 0, ()


def _job_time_limit(value: str) -> int | None:
    """A job's TimeLimit; ``Partition_Limit``/``NOT_SET`` (no own limit) give None."""
    if value.strip().upper() in ("PARTITION_LIMIT", "NOT_SET"):
        return None
    return parse_duration(value)


def _scontrol_min_memory(rec: Mapping[str, str], what: str) -> int | None:
    """Memory from MinMemoryNode x nodes or MinMemoryCPU x CPUs (0 = unset)."""
    for key, count_key in (("MinMemoryNode", "NumNodes"), ("MinMemoryCPU", "NumCPUs")):
        per = parse_memory(_null(rec.get(key)) or "")
        if per:
            count = _opt_int(rec.get(count_key, "").split("-")[0], f"{what} {count_key}")
            return per * (count or 1)
    return None


def _scontrol_job(rec: Mapping[str, str], tz: tzinfo | None) -> Job:
    job_id = _null(rec.get("JobId"))
    if job_id is None:
        raise SlurmParseError(f"scontrol job record without JobId: {_short(dict(rec))}")
    state_text = rec.get("JobState")
    if not state_text:
        raise SlurmParseError(f"scontrol job {job_id} has no JobState")
    state, flags = _primary_state(state_text.split(","))
    # 23.02+ splits TRES= into ReqTRES=/AllocTRES=; AllocTRES is empty while pending.
    tres = {}
    for key in ("AllocTRES", "TRES", "ReqTRES"):
        tres = parse_tres(rec.get(key, ""))
        if tres:
            break
    what = f"scontrol job {job_id}"
    mem = tres.get("mem")
    memory = parse_memory(mem) if mem else _scontrol_min_memory(rec, what)
    gpus, gpu_types = _scontrol_gpus(rec, tres)
    return Job(
        job_id=job_id,
        user=_user_name(rec.get("UserId")),
        state=state,
        reason=_null(rec.get("Reason")),
        partition=_null(rec.get("Partition")),
        account=_null(rec.get("Account")),
        qos=_null(rec.get("QOS")),
        nodes=_null(rec.get("NodeList")),
        num_cpus=_opt_int(rec.get("NumCPUs"), f"{what} NumCPUs"),
        memory_bytes=memory,
        gpus=gpus,
        time_limit_seconds=_job_time_limit(rec.get("TimeLimit", "")),
        submit_time=_scontrol_time(rec.get("SubmitTime"), tz, f"{what} SubmitTime"),
        start_time=_scontrol_time(rec.get("StartTime"), tz, f"{what} StartTime"),
        end_time=_scontrol_time(rec.get("EndTime"), tz, f"{what} EndTime"),
        name=_null(rec.get("JobName")),
        batch_host=_null(rec.get("BatchHost")),
        state_flags=flags,
        gpu_types=gpu_types,
        array_job_id=_null(rec.get("ArrayJobId")),
        array_task_id=_null(rec.get("ArrayTaskId")),
    )


def parse_scontrol_jobs(text: str, tz: tzinfo | None = None) -> list[Job]:
    """Every job of ``scontrol show job -o`` output (one line each)."""
    return [_scontrol_job(rec, tz) for rec in _records(text)]


def parse_scontrol_job(text: str, tz: tzinfo | None = None) -> Job:
    """The one job of ``scontrol show job -o ID``.

    Times are local times without a zone: they are read in ``tz``, else in the
    machine's local zone (``TZ``), and returned in UTC. CPUs come from NumCPUs,
    memory from AllocTRES, TRES (<= 22.05) or ReqTRES, GPUs from ``gres/gpu`` in
    that TRES or else TresPerJob/TresPerNode/TresPerTask.
    """
    jobs = parse_scontrol_jobs(text, tz)
    if len(jobs) != 1:
        raise SlurmParseError(f"expected one scontrol job record, got {len(jobs)}")
    return jobs[0]


# squeue / slurmrestd JSON ------------------------------------------------------

# NO_VAL / INFINITE of 16, 32 and 64 bits: older data_parsers print them raw.
_SENTINELS = frozenset(
    {0xFFFE, 0xFFFF, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFE, 0xFFFFFFFFFFFFFFFF}
)


def _json_num(job: Mapping[str, object], key: str, what: str) -> int | None:
    """A number that is a plain int (<= v0.0.38) or ``{set, infinite, number}``.

    Unset, infinite, null, absent and Slurm's NO_VAL/INFINITE sentinels give None.
    """
    value = job.get(key)
    if isinstance(value, Mapping):
        if not value.get("set", True) or value.get("infinite", False):
            return None
        value = value.get("number")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SlurmParseError(f"{what}: {key} is not a number: {_short(value)}")
    n = int(value)
    return None if n in _SENTINELS else n


def _json_str(job: Mapping[str, object], key: str, what: str) -> str | None:
    value = job.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise SlurmParseError(f"{what}: {key} is not a string: {_short(value)}")
    return value.strip() or None


def _json_time(job: Mapping[str, object], key: str, what: str) -> datetime | None:
    n = _json_num(job, key, what)
    if not n or n < 0:
        return None
    try:
        return datetime.fromtimestamp(n, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise SlurmParseError(f"{what}: {key} is not a valid time: {n}") from None


def _json_state(job: Mapping[str, object], what: str) -> tuple[str, tuple[str, ...]]:
    value = job.get("job_state")
    if isinstance(value, str):  # <= v0.0.39
        states: list[str] = value.split(",")
    elif isinstance(value, list) and all(isinstance(s, str) for s in value):
        states = list(value)  # v0.0.40+
    elif value is None:
        raise SlurmParseError(f"{what}: no job_state")
    else:
        raise SlurmParseError(f"{what}: job_state is neither a string nor a list: {_short(value)}")
    return _primary_state(states)


def _json_gpus(job: Mapping[str, object], what: str) -> tuple[int, tuple[str, ...]]:
    alloc = parse_tres(_json_str(job, "tres_alloc_str", what) or "")
    found = gpus_in_tres(alloc)
    if found:
        return found
    detail = job.get("gres_detail")
    if detail is not None:
        if not isinstance(detail, list) or not all(isinstance(d, str) for d in detail):
            raise SlurmParseError(f"{what}: gres_detail is not a list of strings")
        found = _gpus_in_gres_list(",".join(detail))
        if found:
            return found
    found = gpus_in_tres(parse_tres(_json_str(job, "tres_req_str", what) or ""))
    if found:
        return found
    multipliers = (
        ("tres_per_job", 1),
        ("tres_per_node", _json_num(job, "node_count", what) or 1),
        ("tres_per_task", _json_num(job, "tasks", what) or 1),
    )
    for key, factor in multipliers:
        found = _gpus_in_gres_list(_json_str(job, key, what) or "")
        if found:
            return found[0] * factor, found[1]
    return 0, ()


def _json_memory(job: Mapping[str, object], what: str) -> int | None:
    for key in ("tres_alloc_str", "tres_req_str"):
        mem = parse_tres(_json_str(job, key, what) or "").get("mem")
        if mem:
            return parse_memory(mem)
    per_node = _json_num(job, "memory_per_node", what)
    if per_node:
        return per_node * (_json_num(job, "node_count", what) or 1) << 20
    per_cpu = _json_num(job, "memory_per_cpu", what)
    if per_cpu:
        return per_cpu * (_json_num(job, "cpus", what) or 1) << 20
    return None


def _json_job(job: object, index: int) -> Job:
    if not isinstance(job, Mapping):
        raise SlurmParseError(f"jobs[{index}] is not an object")
    raw_id = job.get("job_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (int, str)) or raw_id == "":
        raise SlurmParseError(f"jobs[{index}] has no valid job_id: {_short(raw_id)}")
    what = f"job {raw_id}"
    state, flags = _json_state(job, what)
    gpus, gpu_types = _json_gpus(job, what)
    limit = _json_num(job, "time_limit", what)  # minutes
    array_job = _json_num(job, "array_job_id", what)
    array_task = _json_num(job, "array_task_id", what)
    return Job(
        job_id=str(raw_id),
        user=_json_str(job, "user_name", what),
        state=state,
        reason=_null(_json_str(job, "state_reason", what)),
        partition=_json_str(job, "partition", what),
        account=_json_str(job, "account", what),
        qos=_json_str(job, "qos", what),
        nodes=_json_str(job, "nodes", what),
        num_cpus=_json_num(job, "cpus", what),
        memory_bytes=_json_memory(job, what),
        gpus=gpus,
        time_limit_seconds=limit * 60 if limit is not None else None,
        submit_time=_json_time(job, "submit_time", what),
        start_time=_json_time(job, "start_time", what),
        end_time=_json_time(job, "end_time", what),
        name=_json_str(job, "name", what),
        batch_host=_json_str(job, "batch_host", what),
        state_flags=flags,
        gpu_types=gpu_types,
        array_job_id=str(array_job) if array_job else None,
        array_task_id=(
            str(array_task)
            if array_task is not None and array_job
            else _json_str(job, "array_task_string", what)
        ),
    )


def parse_squeue_json(data: Mapping[str, object]) -> list[Job]:
    """Jobs of ``squeue --json`` / ``scontrol show job --json`` / slurmrestd.

    Reads every data_parser from v0.0.37 (plain integers, string job_state) to
    v0.0.44 (``{set, infinite, number}`` numbers and times, list job_state).
    ``time_limit`` there is in minutes. A response with no ``jobs`` but with
    ``errors`` raises with Slurm's error text.
    """
    if not isinstance(data, Mapping):
        raise SlurmParseError(f"squeue JSON must be an object, not {type(data).__name__}")
    jobs = data.get("jobs")
    if jobs is None:
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            texts = [
                str(e.get("description") or e.get("error") or e)
                if isinstance(e, Mapping)
                else str(e)
                for e in errors
            ]
            raise SlurmParseError("Slurm reported: " + "; ".join(texts))
        raise SlurmParseError("squeue JSON has no 'jobs' list")
    if not isinstance(jobs, list):
        raise SlurmParseError("squeue JSON 'jobs' is not a list")
    return [_json_job(job, i) for i, job in enumerate(jobs)]


# --------------------------------------------------------------------------- sbatch

_SBATCH_RE = re.compile(r"^(\d+)(?:;([A-Za-z0-9_.-]+))?$")


def parse_sbatch_parsable(text: str) -> str:
    """The job id printed by ``sbatch --parsable`` (``JOBID`` or ``JOBID;CLUSTER``)."""
    if not isinstance(text, str):
        raise SlurmParseError(f"sbatch output must be a string, not {type(text).__name__}")
    m = _SBATCH_RE.match(text.strip())
    if not m:
        raise SlurmParseError(f"sbatch --parsable printed no job id: {_short(text)}")
    return m.group(1)
