"""The backends learn how a session ended, and the hub keeps it (issue 13).

The real Slurm and HTCondor spawners poll a job that is gone; stand-in
commands print outputs recorded on real systems (Slurm 22.05.8 on this
project's cluster; HTCondor 9.9.0's held job: no HTCondor pool can run here)
and record how they were called. The end goes to a real store (SQLite).
tests/test_ends_slurm.py does the same with real jobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine

from sdcc_lab.hub.ends import SETTINGS_KEY, SessionEnds
from sdcc_lab.hub.htcondor import HTCondorSessionSpawner
from sdcc_lab.hub.slurm import SlurmSessionSpawner

FIXTURES = Path(__file__).parent / "fixtures"
HELD = FIXTURES / "htcondor" / "condor_q_long_held_job_htcondor-9.9.0.txt"
SACCT = FIXTURES / "slurm" / "sacct"
OPTIONS = {"local": False, "partition": "cpu", "account": "physics", "qos": "normal",
           "gpu": "none", "gpus": 0, "runtime": 5, "cpus": None, "memory": 200,
           "environment": "default"}  # fmt: skip


def stand_in(folder: Path, name: str, output: str, exit_code: int = 0) -> str:
    """A command that prints ``output`` and records its arguments and SLURM_TIME_FORMAT."""
    (folder / f"{name}.out").write_text(output)
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {folder}/{name}.args\n'
        f'printf "%s" "$SLURM_TIME_FORMAT" > {folder}/{name}.env\n'
        f"cat {folder}/{name}.out\nexit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def called(folder: Path, name: str) -> list[str] | None:
    args = folder / f"{name}.args"
    return args.read_text().splitlines() if args.exists() else None


@pytest.fixture
def store() -> Iterator[SessionEnds]:
    ends = SessionEnds(create_engine("sqlite://"))
    yield ends
    ends.engine.dispose()


def prepare(spawner: Any, store: SessionEnds, job_id: str, host: str = "vm") -> Any:
    me = pwd.getpwuid(os.getuid()).pw_name
    spawner.user = SimpleNamespace(name=me, settings={SETTINGS_KEY: store})
    spawner.exec_prefix = []
    spawner.user_options = dict(OPTIONS)
    spawner.job_id = job_id
    spawner.job_host = host  # the session ran
    return spawner


def test_slurm_asks_sacct_and_keeps_the_memory_kill(store: SessionEnds, tmp_path: Path) -> None:
    spawner = prepare(
        SlurmSessionSpawner(
            squeue=stand_in(tmp_path, "squeue", json.dumps({"jobs": []})),
            sacct=stand_in(tmp_path, "sacct", (SACCT / "slurm-22.05.8_oom.epoch.txt").read_text()),
        ),
        store,
        "995",
    )
    assert asyncio.run(spawner.poll()) == 1
    assert called(tmp_path, "sacct") == [
        "-nP",
        "-j",
        "995",
        "--format=JobID,State,ExitCode,Reason,Start,End,Elapsed,Timelimit,MaxRSS,ReqMem,"
        "Partition,Account,QOS",
    ]
    assert (tmp_path / "sacct.env").read_text() == "%s"  # epoch times: no zone to guess
    end = store.latest(spawner.user.name)
    assert end is not None
    assert (end.job_id, end.scheduler, end.end.kind) == ("995", "slurm", "out_of_memory")
    assert end.end.peak_memory_bytes == 624180 * 1024
    assert end.options == OPTIONS
    assert spawner.job_id == ""  # the session is over in the hub too


def test_without_accounting_the_status_querys_words_are_kept(
    store: SessionEnds, tmp_path: Path
) -> None:
    spawner = prepare(
        SlurmSessionSpawner(
            squeue=stand_in(tmp_path, "squeue", json.dumps({"jobs": []})),
            sacct=stand_in(tmp_path, "sacct", "", exit_code=1),
        ),
        store,
        "995",
    )
    assert asyncio.run(spawner.poll()) == 1
    end = store.latest(spawner.user.name)
    assert end is not None
    assert (end.end.kind, end.end.state) == ("unknown", "the job is no longer known to Slurm")
    # sacct answered, but without the job (not written yet): the same.
    spawner = prepare(spawner, store, "995")
    spawner.sacct = stand_in(tmp_path, "sacct", "")
    assert asyncio.run(spawner.poll()) == 1
    end = store.latest(spawner.user.name)
    assert end is not None and end.end.kind == "unknown"


def test_unreadable_sacct_output_still_ends_the_session(store: SessionEnds, tmp_path: Path) -> None:
    spawner = prepare(
        SlurmSessionSpawner(
            squeue=stand_in(tmp_path, "squeue", json.dumps({"jobs": []})),
            sacct=stand_in(tmp_path, "sacct", "995|garbage\n"),
        ),
        store,
        "995",
    )
    assert asyncio.run(spawner.poll()) == 1
    end = store.latest(spawner.user.name)
    assert end is not None and end.end.kind == "unknown"


def test_a_start_that_failed_is_not_announced(store: SessionEnds, tmp_path: Path) -> None:
    """A job that never ran JupyterLab: its spawn said why; nothing waits for the next visit."""
    spawner = prepare(
        SlurmSessionSpawner(
            squeue=stand_in(tmp_path, "squeue", json.dumps({"jobs": []})),
            sacct=stand_in(
                tmp_path, "sacct", (SACCT / "slurm-22.05.8_failed.epoch.txt").read_text()
            ),
        ),
        store,
        "997",
        host="",
    )
    assert asyncio.run(spawner.poll()) == 1
    assert called(tmp_path, "sacct") is None
    assert store.latest(spawner.user.name) is None


def test_htcondor_reads_a_held_jobs_ad_from_the_queue(store: SessionEnds, tmp_path: Path) -> None:
    spawner = prepare(
        HTCondorSessionSpawner(
            condor_q=stand_in(tmp_path, "condor_q", HELD.read_text()),
            condor_history=stand_in(tmp_path, "condor_history", ""),
        ),
        store,
        "15872426.5189",
    )
    spawner.user_options = {**OPTIONS, "partition": "htcondor", "account": None, "memory": None}
    assert asyncio.run(spawner.poll()) == 1
    assert called(tmp_path, "condor_history") is None
    end = store.latest(spawner.user.name)
    assert end is not None and end.scheduler == "htcondor"
    assert end.end.kind == "out_of_memory"
    assert (end.end.peak_memory_bytes, end.end.memory_limit_bytes) == (13275 << 20, 16384 << 20)


def test_htcondor_asks_the_history_once_the_job_left_the_queue(
    store: SessionEnds, tmp_path: Path
) -> None:
    spawner = prepare(
        HTCondorSessionSpawner(
            condor_q=stand_in(tmp_path, "condor_q", ""),
            condor_history=stand_in(tmp_path, "condor_history", HELD.read_text()),
        ),
        store,
        "15872426.5189",
    )
    assert asyncio.run(spawner.poll()) == 1
    assert called(tmp_path, "condor_history") == ["-long", "-limit", "1", "15872426.5189"]
    end = store.latest(spawner.user.name)
    assert end is not None and end.end.kind == "out_of_memory"
