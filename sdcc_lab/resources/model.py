"""The JSON shape of ``GET sdcc-lab/api/resources`` (docs/api.md; src/resources/types.ts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from .facts import Facts
from .usage import Usage


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, or None."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def answer(
    *,
    scheduler: str | None,
    facts: Facts,
    environment: str | None,
    usage: Usage,
    now: datetime,
    checked_at: datetime | None,
    problems: Sequence[str],
    storage: dict[str, Any] | None = None,
    memory_warning_share: float | None = None,
) -> dict[str, Any]:
    """The endpoint's answer from merged limits and one usage reading."""
    remaining = round((facts.end - now).total_seconds()) if facts.end is not None else None
    return {
        "scheduler": scheduler,
        "job": {
            "id": facts.job_id,
            "partition": facts.partition,
            "account": facts.account,
            "qos": facts.qos,
            "nodes": facts.nodes,
            "environment": environment,
        },
        "allocation": {
            "cpus": facts.cpus,
            "memory_bytes": facts.memory_bytes,
            "gpus": facts.gpus,
            "limits_from": facts.limits_from,
        },
        "time": {
            "start": iso(facts.start),
            "end": iso(facts.end),
            "limit_seconds": facts.limit_seconds,
            "remaining_seconds": remaining,
        },
        "usage": usage.to_json(),
        "storage": storage,
        "memory_warning_share": memory_warning_share,
        "updated_at": iso(now),
        "scheduler_checked_at": iso(checked_at),
        "problems": list(problems),
    }


def empty_answer(scheduler: str | None, problem: str) -> dict[str, Any]:
    """The answer when the collector itself failed: every value unknown."""
    return answer(
        scheduler=scheduler,
        facts=Facts(),
        environment=None,
        usage=Usage(),
        now=datetime.now(timezone.utc),
        checked_at=None,
        problems=[problem],
    )
