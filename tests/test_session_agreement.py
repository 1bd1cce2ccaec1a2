"""One server, one answer to "which session is this?": the panel and the workers agree.

A real jupyter_server with the extension, fake ``squeue``/``scontrol`` (the
real ones: test_dask_slurm.py). The queue holds a Dask worker of job 42. What
the user sees: the resources panel names a job exactly when the workers list
is that job's (``squeue`` asked, its worker shown); ``GET info`` names the same
session and says what decided it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sdcc_lab.session import SESSION_ENV, current_user

ME = current_user()
WORKER = {
    "job_id": 43,
    "name": f"dask-{ME}-42",
    "user_name": ME,
    "job_state": "RUNNING",
    "partition": "gpu",
    "account": "tier3",
    "qos": "normal",
    "cpus": 1,
    "tres_req_str": "cpu=1,mem=1G,node=1",
    "state_reason": "None",
}
SCONTROL = (
    "JobId=42 JobName=jupyter UserId={me}(1000) GroupId={me}(1000) JobState=RUNNING "
    "Partition=gpu Account=tier3 QOS=normal TimeLimit=00:30:00 "
    "StartTime=2026-11-25T10:00:00 EndTime=2026-11-25T10:30:00 NumCPUs=2 "
    "TRES=cpu=2,mem=4G,node=1 NodeList=n1\n"
)
# The environments where the three readers used to disagree: SLURM_JOB_ID without
# an identity (a plain jupyter lab in a job), and with an identity that says local.
CASES = {
    "no identity": ({}, "slurm", "42"),
    "local identity": (
        {SESSION_ENV: json.dumps({"scheduler": "local", "options": {}})},
        "local",
        None,
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[str, str | None, Path]:
    env, scheduler, job_id = CASES[request.param]
    monkeypatch.delenv(SESSION_ENV, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "squeue").write_text(
        f"#!/bin/sh\necho squeue >> {tmp_path}/calls\ncat <<'EOF'\n"
        + json.dumps({"meta": {}, "errors": [], "jobs": [WORKER]})
        + "\nEOF\n"
    )
    (tmp_path / "scontrol").write_text(f"#!/bin/sh\ncat <<'EOF'\n{SCONTROL.format(me=ME)}EOF\n")
    for cmd in ("squeue", "scontrol"):
        (tmp_path / cmd).chmod(0o755)
    return scheduler, job_id, tmp_path


@pytest.fixture
def jp_server_config(case: tuple[str, str | None, Path]) -> dict[str, Any]:
    folder = case[2]
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {"scontrol_command": [str(folder / "scontrol")]},
        "WorkerJobs": {
            "squeue_command": [str(folder / "squeue")],
            "scancel_command": ["/bin/false"],
        },
    }


async def get(jp_fetch: Any, name: str) -> Any:
    return json.loads((await jp_fetch("sdcc-lab", "api", name)).body)


async def test_panel_workers_and_info_name_the_same_session(
    jp_fetch: Any, case: tuple[str, str | None, Path]
) -> None:
    scheduler, job_id, folder = case
    resources = await get(jp_fetch, "resources")
    workers = (await get(jp_fetch, "workers"))["workers"]
    session = (await get(jp_fetch, "info"))["session"]
    assert (resources["scheduler"], resources["job"]["id"]) == (scheduler, job_id)
    assert (session["scheduler"], session.get("job_id")) == (scheduler, job_id)
    if job_id is None:
        assert workers == []
        assert not (folder / "calls").exists()  # squeue never asked for a session without a job
    else:
        assert [w["id"] for w in workers] == ["43"]
