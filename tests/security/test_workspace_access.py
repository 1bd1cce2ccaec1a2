"""Security probes of the kept workspace (issue 13, "Start again where you were"), on a
real jupyter_server with JupyterLab (pytest-jupyter).

- ``sdcc-lab/api/workspace`` answers nobody without credentials: neither the
  record (which names the user's notebooks) nor the switch.
- The workspace's name comes from the server's start URL; a name that would
  climb out of JupyterLab's workspaces folder is no portal workspace: nothing
  is read or written outside that folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError


@pytest.fixture
def default_url() -> str:
    return "/lab/workspaces/sdcc-lab"


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".jupyter" / "lab" / "workspaces"


@pytest.fixture
def jp_server_config(default_url: str, workspaces: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab": True, "sdcc_lab": True},
            "default_url": default_url,
        },
        "LabApp": {"workspaces_dir": str(workspaces)},
    }


@pytest.mark.parametrize("method", ["GET", "PUT"])
@pytest.mark.parametrize("authorization", ["", "token not-the-servers-token"])
async def test_no_credentials_no_workspace(jp_fetch: Any, method: str, authorization: str) -> None:
    body = json.dumps({"restore": False}) if method == "PUT" else None
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab",
            "api",
            "workspace",
            method=method,
            body=body,
            headers={"Authorization": authorization},
        )
    assert e.value.code == 403


def written(root: Path) -> list[Path]:
    """The record, or anything named after the climbing URL, anywhere below ``root``."""
    return [p for p in root.rglob("*") if "sdcc-kernels" in p.name or "ws-climb" in p.name]


def climbed_to_tmp() -> list[Path]:
    return list(Path("/tmp").glob("sdcc-ws-climb*"))


@pytest.mark.parametrize(
    "default_url",
    [
        "/lab/workspaces/../../../../tmp/sdcc-ws-climb",
        "/lab/workspaces/..%2f..%2fsdcc-ws-climb",
        "/lab/workspaces/.hidden",
        "/lab/workspaces/a/b",
    ],
)
async def test_a_start_url_cannot_lead_the_record_out_of_the_workspaces_folder(
    jp_fetch: Any, jp_serverapp: Any, workspaces: Path, tmp_path: Path
) -> None:
    answer = json.loads((await jp_fetch("sdcc-lab", "api", "workspace")).body)
    assert (answer["available"], answer["workspace"]) == (False, None)
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch(
            "sdcc-lab", "api", "workspace", method="PUT", body=json.dumps({"restore": False})
        )
    assert e.value.code == 409
    from sdcc_lab.server.workspace import WorkspaceKeeper

    keeper = WorkspaceKeeper(jp_serverapp)
    keeper.start()
    assert await keeper.check() is False
    keeper.stop()
    assert written(tmp_path) == []
    assert climbed_to_tmp() == []
