"""``sdcc-lab/api/workers`` in a session that is not a Slurm job: no workers, nothing run.

The hub's identity says ``local`` while ``SLURM_JOB_ID`` is set (a hub that
itself runs in a job, say): the identity decides (:mod:`sdcc_lab.session`),
so this server lists no workers, never asks ``squeue`` and cancels nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def calls_file(tmp_path: Path) -> Path:
    return tmp_path / "calls"


@pytest.fixture
def jp_server_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, calls_file: Path
) -> dict[str, Any]:
    monkeypatch.setenv("SDCC_LAB_SESSION", json.dumps({"scheduler": "local", "options": {}}))
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    commands = {}
    for cmd in ("squeue", "scancel"):  # they record that they ran, and fail
        script = tmp_path / cmd
        script.write_text(f'#!/bin/sh\necho "{cmd} $*" >> {calls_file}\nexit 1\n')
        script.chmod(0o755)
        commands[f"{cmd}_command"] = [str(script)]
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {"scontrol_command": ["/bin/false"]},
        "WorkerJobs": commands,
    }


def ran(calls_file: Path) -> bool:
    return calls_file.exists()


async def test_a_local_session_lists_no_workers(jp_fetch: Any, calls_file: Path) -> None:
    info = json.loads((await jp_fetch("sdcc-lab", "api", "info")).body)["session"]
    assert (info["scheduler"], info["job_id"]) == ("local", None)
    r = await jp_fetch("sdcc-lab", "api", "workers")
    assert json.loads(r.body) == {"workers": []}
    r = await jp_fetch("sdcc-lab", "api", "workers", method="DELETE")
    assert r.code == 204
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "workers", "42", method="DELETE")
    assert e.value.code == 404
    assert not ran(calls_file)  # neither squeue nor scancel ran


async def test_the_api_needs_authentication(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "workers", headers={"Authorization": ""})
    assert e.value.code == 403
