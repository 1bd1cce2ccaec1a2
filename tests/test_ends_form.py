"""The spawn form after a session ended (issue 13): the message, Start again, and more
memory after an out-of-memory end, within what the user may request.

The form spawner renders with alice's entitlements built from the test
cluster's recorded outputs (tests/test_estimate_options.py: a partition
MaxMemPerNode and gpu-qos's MaxTRES of 4 GiB); no scheduler runs. The ended
session is in a real store (SQLite); tests/test_ends_slurm.py ends real jobs.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine
from test_estimate_options import alice
from test_hub_form import RecordingSpawner, make_spawner, render

from sdcc_lab.hub.ends import SETTINGS_KEY, SessionEnd, SessionEnds
from sdcc_lab.hub.options import OptionsError
from sdcc_lab.scheduler.ends import JobEnd

M = 1 << 20
AT = datetime(2026, 11, 27, 11, 28, tzinfo=timezone.utc)
CPU = {"local": False, "partition": "cpu", "account": "physics", "qos": "normal",
       "gpu": "none", "gpus": 0, "runtime": 10, "cpus": None, "memory": 600,
       "environment": "default"}  # fmt: skip


@pytest.fixture
def store() -> Iterator[SessionEnds]:
    ends = SessionEnds(create_engine("sqlite://"))
    yield ends
    ends.engine.dispose()


def form(store: SessionEnds, **limits: str) -> Any:
    spawner = make_spawner()
    spawner.batch_disabled_reason = ""
    spawner.user = SimpleNamespace(
        name="alice", escaped_name="alice", settings={SETTINGS_KEY: store}
    )

    async def entitlements() -> Any:
        return alice(**limits)

    async def no_free(_: Any) -> list[Any]:
        return []

    async def no_estimate(_: Any) -> Any:
        raise OptionsError("partition", "not estimated in this test")

    spawner.user_entitlements = entitlements
    spawner.free_resources_json = no_free
    spawner.start_estimate = no_estimate
    return spawner


def ended(store: SessionEnds, end: JobEnd, options: dict[str, Any] = CPU) -> None:
    store.record(SessionEnd("alice", "", "slurm", "995", end, dict(options)))


def oom(peak_mib: int, limit_mib: int = 600) -> JobEnd:
    return JobEnd("out_of_memory", "FAILED", AT, signal=9, peak_memory_bytes=peak_mib * M,
                  memory_limit_bytes=limit_mib * M)  # fmt: skip


def text_of(page: str, element_id: str) -> str | None:
    match = re.search(rf'id="{element_id}">(.*?)</', page, re.S)
    return html.unescape(match.group(1)).strip() if match else None


def memory_value(page: str) -> str:
    match = re.search(r'name="memory" id="sdcc-memory"[^>]*value="([^"]*)"', page, re.S)
    assert match, "the form has no memory field"
    return match.group(1)


def test_after_running_out_of_memory_the_form_offers_twice_the_peak(store: SessionEnds) -> None:
    ended(store, oom(900))
    page = render(form(store, max_mem="8000"))
    assert text_of(
        page,
        "sdcc-session-end-message",
    ) == (
        "Your session on cpu (physics, 10 min) ended at 11:28 UTC: it was stopped because "
        "it used more than its 600 MiB of memory (peak 900 MiB)."
    )
    assert memory_value(page) == "2048"  # 2 × 900 MiB, in whole GiB
    assert text_of(page, "sdcc-memory-note") == (
        "Memory is set to 2048 MiB (your last session had 600 MiB); you may ask for up to "
        "8000 MiB here."
    )
    # Start again posts the session's own options (600 MiB), not the suggestion.
    fields = json.loads(text_of(page, "sdcc-session-end-fields") or "[]")
    assert ["memory", "600"] in fields and ["partition", "cpu"] in fields


def test_the_suggestion_stops_at_the_users_limit(store: SessionEnds) -> None:
    ended(store, oom(900))
    page = render(form(store, max_mem="1500"))
    assert memory_value(page) == "1500"
    ended(store, oom(1600, limit_mib=1500), {**CPU, "memory": 1500})
    page = render(form(store, max_mem="1500"))
    assert memory_value(page) == "1500"
    assert text_of(page, "sdcc-memory-note") == (
        "Your last session ran out of memory and already had the most you may ask for on "
        "cpu: use less memory, or choose another partition."
    )


def test_other_ends_keep_the_sessions_options_and_say_nothing_of_memory(
    store: SessionEnds,
) -> None:
    gpu = {**CPU, "partition": "gpu", "account": "tier3", "qos": "gpu-qos", "runtime": 30,
           "memory": None}  # fmt: skip
    ended(store, JobEnd("time_limit", "TIMEOUT", AT, time_limit_seconds=1800), gpu)
    page = render(form(store))
    assert text_of(page, "sdcc-session-end-message") == (
        "Your session on gpu (tier3, 30 min) ended at 11:28 UTC: it reached its time limit."
    )
    assert '<option value="gpu" selected>' in page
    assert text_of(page, "sdcc-memory-note") is None
    assert memory_value(page) == ""


def test_no_end_no_message(store: SessionEnds) -> None:
    assert 'id="sdcc-session-end"' not in render(form(store))


def test_starting_a_session_clears_the_message(store: SessionEnds) -> None:
    ended(store, oom(900))
    spawner = form(store)
    spawner.user_options = {"local": True}
    RecordingSpawner.started_with.clear()

    asyncio.run(spawner.start())
    assert RecordingSpawner.started_with == [{"local": True, "environment": "default"}]
    assert store.latest("alice") is None
