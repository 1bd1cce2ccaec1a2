"""``sdcc-lab/api/workers`` in a session that is not a Slurm job: no workers, nothing run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def jp_server_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("SDCC_LAB_SESSION", raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # a Slurm variable alone does not make a Slurm session
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "WorkerJobs": {"squeue_command": ["/bin/false"], "scancel_command": ["/bin/false"]},
    }


async def test_a_local_session_lists_no_workers(jp_fetch: Any) -> None:
    r = await jp_fetch("sdcc-lab", "api", "workers")
    assert json.loads(r.body) == {"workers": []}
    r = await jp_fetch("sdcc-lab", "api", "workers", method="DELETE")
    assert r.code == 204
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("sdcc-lab", "api", "workers", "42", method="DELETE")
    assert info.value.code == 404


async def test_the_api_needs_authentication(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("sdcc-lab", "api", "workers", headers={"Authorization": ""})
    assert info.value.code in (401, 403)
