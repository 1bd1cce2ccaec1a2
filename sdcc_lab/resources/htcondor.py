"""An HTCondor session's facts, from the ads the starter writes for the job.

``_CONDOR_JOB_AD`` and ``_CONDOR_MACHINE_AD`` name files in the job's scratch
folder: a snapshot of the job ad at start (RequestCpus, RequestMemory in MiB,
RequestGPUs, JobCurrentStartDate, AllowedJobDuration) and the slot's machine
ad (Cpus, Memory in MiB, GPUs). No daemon is asked anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..scheduler.htcondor import ClassAd, HTCondorParseError, get, parse_classad
from .facts import Facts


def _read_ad(environ: Mapping[str, str], name: str, problems: list[str]) -> ClassAd | None:
    path = environ.get(name)
    if not path:
        return None
    try:
        return parse_classad(Path(path).read_text(errors="replace"))
    except OSError as e:
        problems.append(f"cannot read {name} ({path}): {e.strerror or e}")
    except HTCondorParseError as e:
        problems.append(f"cannot read {name} ({path}): {e}")
    return None


def _num(ad: ClassAd | None, name: str) -> int | float | None:
    """A numeric attribute; None when absent, UNDEFINED, boolean or an expression."""
    if ad is None:
        return None
    value = get(ad, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value >= 0 else None


def _text(ad: ClassAd | None, name: str) -> str | None:
    value = get(ad, name) if ad is not None else None
    return value if isinstance(value, str) and value else None


def is_htcondor(environ: Mapping[str, str]) -> bool:
    return environ.get("BATCH_SYSTEM", "").lower() == "htcondor" or "_CONDOR_JOB_AD" in environ


def htcondor_from_env(environ: Mapping[str, str]) -> Facts:
    problems: list[str] = []
    job = _read_ad(environ, "_CONDOR_JOB_AD", problems)
    machine = _read_ad(environ, "_CONDOR_MACHINE_AD", problems)
    cluster, proc = _num(job, "ClusterId"), _num(job, "ProcId")
    job_id = f"{int(cluster)}.{int(proc)}" if cluster is not None and proc is not None else None
    cpus = _num(job, "RequestCpus")
    if cpus is None:
        cpus = _num(machine, "Cpus")
    memory_mib = _num(job, "RequestMemory")
    if memory_mib is None:
        memory_mib = _num(machine, "Memory")
    gpus = _num(job, "RequestGPUs")
    if gpus is None:
        gpus = _num(machine, "GPUs")
    if gpus is None and job is not None:
        gpus = 0  # a job ad without RequestGPUs asked for none
    start_epoch = _num(job, "JobCurrentStartDate")
    start = datetime.fromtimestamp(start_epoch, timezone.utc) if start_epoch else None
    limit = _num(job, "AllowedJobDuration")
    if limit is None:
        limit = _num(job, "AllowedExecuteDuration")
    end = start + timedelta(seconds=limit) if start is not None and limit is not None else None
    return Facts(
        job_id=job_id,
        nodes=_text(job, "RemoteHost") or _text(machine, "Name"),
        cpus=float(cpus) if cpus is not None else None,
        memory_bytes=int(memory_mib * (1 << 20)) if memory_mib is not None else None,
        gpus=int(gpus) if gpus is not None else None,
        start=start,
        end=end,
        limit_seconds=int(limit) if limit is not None else None,
        limits_from="htcondor" if job is not None or machine is not None else None,
        problems=tuple(problems),
    )
