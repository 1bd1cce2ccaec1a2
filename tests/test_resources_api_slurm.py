"""The endpoint of a server that runs as a Slurm job (fake, counting scontrol).

The Slurm environment and a malformed ``SDCC_LAB_SESSION`` are set before the
server starts; the endpoint still answers, from the environment and one query.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_resources_api import SLURM_ENV, fake_scontrol, ncalls


@pytest.fixture
def calls_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for k, v in SLURM_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("SDCC_LAB_SESSION", "{not json")
    return fake_scontrol(tmp_path)[1]


@pytest.fixture
def jp_server_config(calls_file: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ResourcesCollector": {
            "scontrol_command": [str(calls_file.parent / "scontrol")],
            "recheck_interval": 3600.0,
        },
    }


async def test_endpoint_slurm_with_malformed_identity(jp_fetch: Any, calls_file: Path) -> None:
    bodies = [json.loads((await jp_fetch("sdcc-lab", "api", "resources")).body) for _ in range(15)]
    assert all(b["scheduler"] == "slurm" and b["job"]["id"] == "4321" for b in bodies)
    assert bodies[-1]["job"]["partition"] == "gpu"
    assert bodies[-1]["time"]["limit_seconds"] == 1800
    assert ncalls(calls_file) == 1  # fifteen polls, the one start-up query
    # a malformed identity: the environment decides, and the answer says so
    assert any("SDCC_LAB_SESSION is malformed" in p for p in bodies[-1]["problems"])
