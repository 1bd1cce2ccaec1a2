"""``sdcc-lab/api/workspace`` on a real jupyter_server with JupyterLab (pytest-jupyter).

The server is opened, as the hub opens it, at ``/lab/workspaces/sdcc-lab``;
JupyterLab's own workspaces API stores the layout (as the browser does) and
real kernels run the notebooks' sessions. The real hub is
tests/test_workspace_hub.py; the browser and Slurm, ui-tests/tests/restore.spec.ts.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from openapi_check import assert_matches
from tornado.httpclient import HTTPClientError

from sdcc_lab.server.workspace import WorkspaceKeeper, merge_kernels, open_notebooks

NAME = "sdcc-lab"


@pytest.fixture
def default_url() -> str:
    return f"/lab/workspaces/{NAME}"


@pytest.fixture
def workspaces(tmp_path: Path) -> Path:
    return tmp_path / "workspaces"


@pytest.fixture
def jp_server_config(default_url: str, workspaces: Path) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab": True, "sdcc_lab": True},
            "default_url": default_url,
        },
        "LabApp": {"workspaces_dir": str(workspaces)},
        "WorkspaceKeeper": {"check_interval": 0.2},
    }


async def call(jp_fetch: Any, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method}
    if method != "GET":
        kwargs["body"] = body if isinstance(body, bytes) else json.dumps(body)
    try:
        response = await jp_fetch("sdcc-lab", "api", "workspace", **kwargs)
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)
    answer = json.loads(response.body)
    if response.code == 200:
        assert_matches("Workspace", answer)
    return response.code, answer


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def read(path: Path) -> str:
    return path.read_text()


def layout(*paths: str) -> dict[str, Any]:
    """A workspace as JupyterLab's layout restorer writes it, with these notebooks open."""
    data: dict[str, Any] = {
        f"notebook:{p}": {"data": {"path": p, "factory": "Notebook"}} for p in paths
    }
    data["layout-restorer:data"] = {
        "main": {
            "dock": {
                "type": "tab-area",
                "currentIndex": 0,
                "widgets": [f"notebook:{p}" for p in paths],
            },
            "current": f"notebook:{paths[0]}" if paths else None,
        }
    }
    return {"data": data, "metadata": {"id": NAME}}


async def open_in_lab(jp_fetch: Any, *paths: str) -> None:
    """What the browser does: create the notebooks, store the layout, start their kernels."""
    for path in paths:
        await jp_fetch("api", "contents", path, method="PUT", body=json.dumps({"type": "notebook"}))
    await jp_fetch("lab", "api", "workspaces", NAME, method="PUT", body=json.dumps(layout(*paths)))


async def start_kernel(jp_fetch: Any, path: str) -> str:
    response = await jp_fetch(
        "api",
        "sessions",
        method="POST",
        body=json.dumps(
            {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
        ),
    )
    return str(json.loads(response.body)["id"])


async def recorded(
    jp_fetch: Any, want: list[dict[str, str]], timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        _, answer = await call(jp_fetch)
        if answer["kernels"] == want or time.monotonic() > deadline:
            return dict(answer)
        await asyncio.sleep(0.2)


async def test_the_kernels_of_the_open_notebooks_are_kept(jp_fetch: Any, workspaces: Path) -> None:
    await open_in_lab(jp_fetch, "one.ipynb", "two.ipynb")
    await jp_fetch(
        "api", "contents", "closed.ipynb", method="PUT", body=json.dumps({"type": "notebook"})
    )
    sessions = [await start_kernel(jp_fetch, p) for p in ("one.ipynb", "two.ipynb", "closed.ipynb")]
    want = [
        {"path": "one.ipynb", "kernel": "python3"},
        {"path": "two.ipynb", "kernel": "python3"},
    ]
    answer = await recorded(jp_fetch, want)
    # closed.ipynb runs a kernel but is not open in the workspace: not reopened.
    assert answer["kernels"] == want, answer
    assert answer["available"] is True and answer["workspace"] == NAME
    assert answer["restore"] is True and answer["saved"]
    # In the home's workspaces folder, beside the workspace JupyterLab wrote.
    assert names(workspaces) == [
        f"{NAME}-{_slug_hash()}.jupyterlab-workspace",
        f"{NAME}.sdcc-kernels.json",
    ]
    # The job ends: its kernels go, the record keeps what they were.
    for session in sessions:
        await jp_fetch("api", "sessions", session, method="DELETE")
    await asyncio.sleep(1)
    _, after = await call(jp_fetch)
    assert after["kernels"] == want


def _slug_hash() -> str:
    from jupyterlab_server.workspaces_handler import slugify

    return slugify(NAME).rsplit("-", 1)[1]


async def test_turned_off_the_next_start_is_blank(
    jp_fetch: Any, jp_serverapp: Any, workspaces: Path
) -> None:
    await open_in_lab(jp_fetch, "one.ipynb")
    await start_kernel(jp_fetch, "one.ipynb")
    await recorded(jp_fetch, [{"path": "one.ipynb", "kernel": "python3"}])
    code, answer = await call(jp_fetch, "PUT", {"restore": False})
    assert (code, answer["restore"]) == (200, False)
    # This session goes on as it is; the next server start empties the workspace first.
    assert answer["kernels"] == [{"path": "one.ipynb", "kernel": "python3"}]
    next_start = WorkspaceKeeper(jp_serverapp)
    next_start.start()
    next_start.stop()
    response = await jp_fetch("lab", "api", "workspaces", NAME)
    assert json.loads(response.body)["data"] == {}
    _, answer = await call(jp_fetch)
    assert (answer["restore"], answer["kernels"]) == (False, [])
    # Turned on again, the next start keeps what this session opens.
    code, answer = await call(jp_fetch, "PUT", {"restore": True})
    assert (code, answer["restore"]) == (200, True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the request body is not JSON"),
        ([True], "the request body must be a JSON object"),
        ({"restore": "no"}, "restore must be true or false"),
        ({}, "restore must be true or false"),
        ({"restore": True, "kernels": {}}, "unknown field(s): kernels"),
    ],
)
async def test_bad_bodies_are_refused_and_change_nothing(
    jp_fetch: Any, body: Any, message: str
) -> None:
    before = (await call(jp_fetch))[1]
    code, answer = await call(jp_fetch, "PUT", body)
    assert (code, answer["message"]) == (400, message)
    after = (await call(jp_fetch))[1]
    assert after["restore"] == before["restore"]


async def test_an_unreadable_record_is_replaced(jp_fetch: Any, workspaces: Path) -> None:
    write(workspaces / f"{NAME}.sdcc-kernels.json", "{ half a recor")
    code, answer = await call(jp_fetch)
    assert (code, answer["kernels"], answer["restore"]) == (200, [], True)
    await open_in_lab(jp_fetch, "one.ipynb")
    await start_kernel(jp_fetch, "one.ipynb")
    await recorded(jp_fetch, [{"path": "one.ipynb", "kernel": "python3"}])
    assert json.loads(read(workspaces / f"{NAME}.sdcc-kernels.json"))["kernels"] == [
        {"path": "one.ipynb", "kernel": "python3"}
    ]


@pytest.mark.parametrize("default_url", ["/lab"])
async def test_without_the_portal_workspace_nothing_is_kept(
    jp_fetch: Any, workspaces: Path
) -> None:
    code, answer = await call(jp_fetch)
    assert (code, answer["available"], answer["workspace"], answer["kernels"]) == (
        200,
        False,
        None,
        [],
    )
    assert "restore_workspace" in answer["reason"]
    code, answer = await call(jp_fetch, "PUT", {"restore": False})
    assert code == 409 and "restore_workspace" in answer["message"]
    assert not [n for n in names(workspaces) if n.endswith(".sdcc-kernels.json")]


def test_open_notebooks_reads_the_layout_restorers_keys() -> None:
    workspace = layout("sub/b c.ipynb", "a.ipynb")
    workspace["data"] = dict(sorted(workspace["data"].items()))  # as JupyterLab stores it
    workspace["data"]["editor:x.py"] = {"data": {"path": "x.py", "factory": "Editor"}}
    workspace["data"]["notebook:old-style.ipynb"] = {}
    # The tabs' order, then notebooks not in the main area.
    assert open_notebooks(workspace) == ["sub/b c.ipynb", "a.ipynb", "old-style.ipynb"]
    split = {
        "type": "split-area",
        "children": [{"widgets": ["notebook:z"]}, {"widgets": ["notebook:y"]}],
    }
    both = {
        "data": {
            "notebook:y": {},
            "notebook:z": {},
            "layout-restorer:data": {"main": {"dock": split}},
        }
    }
    assert open_notebooks(both) == ["z", "y"]
    assert open_notebooks({"data": []}) == []


def test_merge_keeps_a_gone_kernel_and_drops_a_closed_notebook() -> None:
    assert merge_kernels(
        ["a.ipynb", "b.ipynb", "c.ipynb"],
        running={"a.ipynb": "python3", "z.ipynb": "ir"},
        recorded={"a.ipynb": "julia", "b.ipynb": "ir", "gone.ipynb": "python3"},
    ) == {"a.ipynb": "python3", "b.ipynb": "ir"}
