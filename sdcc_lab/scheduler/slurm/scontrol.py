"""``scontrol ... -o`` text: one-line Key=Value records, partitions, jobs.

Times in ``scontrol`` text (``SLURM_TIME_FORMAT=standard``, the default) carry
no zone: they are read in the machine's local zone unless a ``tz`` is given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from .common import SlurmParseError, _null, _short
from .job import Job, _primary_state
from .units import _gpus_in_gres_list, _int, gpus_in_tres, parse_duration, parse_memory, parse_tres

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
    max_cpus_per_node: int | None = None  # MaxCPUsPerNode (None: UNLIMITED)
    max_mem_per_node_mib: int | None = None  # MaxMemPerNode (None: UNLIMITED)


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
        max_cpus_per_node=_opt_int(rec.get("MaxCPUsPerNode"), f"partition {name} MaxCPUsPerNode"),
        max_mem_per_node_mib=_opt_int(rec.get("MaxMemPerNode"), f"partition {name} MaxMemPerNode"),
    )


def parse_partitions(text: str) -> list[Partition]:
    """Every partition in ``scontrol show partition -o`` output (one per line)."""
    return [_partition(rec) for rec in _records(text)]


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
