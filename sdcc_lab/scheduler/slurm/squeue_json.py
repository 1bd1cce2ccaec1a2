"""``squeue --json``, ``scontrol show job --json`` and slurmrestd ``/slurm/vX/job(s)``
(data_parser v0.0.37 to v0.0.44)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone

from .common import SlurmParseError, _null, _short
from .job import Job, _primary_state
from .units import _gpus_in_gres_list, gpus_in_tres, parse_memory, parse_tres

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
