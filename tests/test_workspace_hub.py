"""Start again where you were, through a real JupyterHub (``sdcc-lab demo``).

A local session here (the restore logic is the same for every scheduler): the
hub opens the server in the portal's workspace, JupyterLab's workspaces API
keeps its layout in the user's home, the server records the notebooks'
kernels; the next start opens the same workspace with the same record. The
browser's part (the notebooks reopen in their tabs, their kernels start) and
the real Slurm job are ui-tests/tests/restore.spec.ts.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import Portal
from hubclient import HubClient, save_notebook
from jupyterhub.spawner import Spawner
from traitlets import TraitError

from sdcc_lab.hub import SDCCSpawner

pytestmark = [pytest.mark.hub, pytest.mark.slow]

NAME = "sdcc-lab"
NOTEBOOKS = ("one.ipynb", "analysis/two.ipynb")


def layout(*paths: str) -> dict[str, Any]:
    """A workspace as JupyterLab's layout restorer writes it, with these notebooks open."""
    data: dict[str, Any] = {
        f"notebook:{p}": {"data": {"path": p, "factory": "Notebook"}} for p in paths
    }
    widgets = [f"notebook:{p}" for p in paths]
    data["layout-restorer:data"] = {
        "main": {
            "dock": {"type": "tab-area", "currentIndex": 1, "widgets": widgets},
            "current": widgets[-1],
        }
    }
    return {"data": data, "metadata": {"id": NAME}}


def landing(client: HubClient) -> str:
    """Where the server sends its user, as a browser follows the hub's redirects."""
    r = client.session.get(client.url + f"user/{client.username}/")
    assert r.status_code == 200, r.text
    return r.url


def record(client: HubClient, want: list[dict[str, str]] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        r = client.server_api("GET", "sdcc-lab/api/workspace")
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        if want is None or answer["kernels"] == want or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def restart(client: HubClient) -> None:
    client.stop_server()
    deadline = time.monotonic() + 60
    while client.hub_api("GET", f"users/{client.username}").json()["servers"]:
        assert time.monotonic() < deadline, "the server did not stop"
        time.sleep(0.5)
    client.start_server(local=True)


def test_the_next_start_opens_the_same_workspace_with_its_kernels(
    start_demo: Any,
) -> None:
    portal: Portal = start_demo(users="carol")
    carol = HubClient(portal.url, "carol")
    carol.login()
    carol.start_server(local=True)
    assert landing(carol).endswith(f"/user/carol/lab/workspaces/{NAME}")
    # The switch is carol's, kept in her home: an earlier run on this machine (this
    # test ends with it off) must not decide this one. On, then a fresh start.
    r = carol.server_api("PUT", "sdcc-lab/api/workspace", json={"restore": True})
    assert (r.status_code, r.json()["restore"]) == (200, True), r.text
    restart(carol)
    assert landing(carol).endswith(f"/user/carol/lab/workspaces/{NAME}")

    # What JupyterLab does as carol works: saves the notebooks, the layout, starts kernels.
    r = carol.server_api("PUT", "api/contents/analysis", json={"type": "directory"})
    assert r.status_code in (200, 201), r.text
    for path in NOTEBOOKS:
        save_notebook(carol, path, "x = 1")
    r = carol.server_api("PUT", f"lab/api/workspaces/{NAME}", json=layout(*NOTEBOOKS))
    assert r.status_code == 204, r.text
    for path in NOTEBOOKS:
        r = carol.server_api(
            "POST",
            "api/sessions",
            json={"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}},
        )
        assert r.status_code == 201, r.text
    want = [{"path": p, "kernel": "python3"} for p in NOTEBOOKS]
    first = record(carol, want)
    assert first["kernels"] == want, first

    # The session ends (its server stops with the kernels); a plain new start.
    restart(carol)
    assert landing(carol).endswith(f"/user/carol/lab/workspaces/{NAME}")
    again = record(carol)
    assert again["kernels"] == want
    assert again["started"] != first["started"]
    r = carol.server_api("GET", f"lab/api/workspaces/{NAME}")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert [k for k in data if k.startswith("notebook:")] == [f"notebook:{p}" for p in NOTEBOOKS]
    assert data["layout-restorer:data"]["main"]["current"] == f"notebook:{NOTEBOOKS[1]}"

    # carol turns it off: the next start is blank.
    r = carol.server_api("PUT", "sdcc-lab/api/workspace", json={"restore": False})
    assert (r.status_code, r.json()["restore"]) == (200, False)
    restart(carol)
    assert landing(carol).endswith(f"/user/carol/lab/workspaces/{NAME}")
    blank = record(carol)
    assert (blank["restore"], blank["kernels"]) == (False, [])
    r = carol.server_api("GET", f"lab/api/workspaces/{NAME}")
    assert r.json()["data"] == {}


def child_url(restore: bool = True, default_url: str = "/lab", name: str = NAME) -> str:
    spawner = SDCCSpawner(restore_workspace=restore, workspace_name=name)
    child = Spawner(default_url=default_url)
    spawner._configure_child(child)
    return str(child.default_url)


def test_the_start_url_is_the_workspace_unless_the_admin_says_otherwise() -> None:
    assert child_url() == f"/lab/workspaces/{NAME}"
    assert child_url(default_url="") == f"/lab/workspaces/{NAME}"
    assert child_url(name="portal") == "/lab/workspaces/portal"
    # The admin's switch, and a start page the admin chose, are left alone.
    assert child_url(restore=False) == "/lab"
    assert child_url(default_url="/tree") == "/tree"
    with pytest.raises(TraitError, match="letters, digits"):
        SDCCSpawner(workspace_name="../etc")
