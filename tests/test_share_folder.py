"""Share a folder (issue 14): a real hub, the real share service, alice and bob.

Alice shares a folder of three notebooks and a data file; bob imports it under
``shared/alice/<folder>/``. A refresh updates each file bob has not changed and
puts the new version beside the one he did; files alice deleted stay at bob's.
A link leading out of the folder is never followed, and a folder past the cap
is refused with the cap in the message, with nothing stored on either side.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import Portal
from hubclient import HubClient, cell_sources, page_config, run_code, save_notebook
from test_share_hub import import_link, open_link, user

pytestmark = [pytest.mark.hub, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal(demo_portal: Portal) -> Portal:
    return demo_portal


@pytest.fixture(scope="module")
def alice(portal: Portal) -> HubClient:
    return user(portal, "alice")


@pytest.fixture(scope="module")
def bob(portal: Portal) -> HubClient:
    return user(portal, "bob")


def run_in_root(client: HubClient, code: str) -> str:
    """Run ``code`` in a kernel of the user's server, in the server's root folder."""
    root = page_config(client.open_lab().text)["serverRoot"]
    return run_code(client, f"import os; os.chdir({root!r})\n{code}")


def put(client: HubClient, path: str, model: dict[str, Any]) -> None:
    r = client.server_api("PUT", "api/contents/" + path, json=model)
    assert r.status_code in (200, 201), r.text


def mkdir(client: HubClient, path: str) -> None:
    put(client, path, {"type": "directory"})


def save_text(client: HubClient, path: str, text: str) -> None:
    put(client, path, {"type": "file", "format": "text", "content": text})


def read_text(client: HubClient, path: str) -> str:
    r = client.server_api("GET", "api/contents/" + path, params={"format": "text"})
    assert r.status_code == 200, r.text
    return str(r.json()["content"])


def exists(client: HubClient, path: str) -> bool:
    return (
        client.server_api("GET", "api/contents/" + path, params={"content": "0"}).status_code == 200
    )


def share_folder(client: HubClient, path: str) -> dict[str, Any]:
    r = client.server_api("POST", "sdcc-lab/api/shares", json={"path": path})
    assert r.status_code == 201, r.text
    return dict(r.json())


def preview(client: HubClient, link: str) -> dict[str, Any]:
    r = client.server_api("POST", "sdcc-lab/api/imports/preview", json={"link": link})
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_for_size(client: HubClient, link: str, path: str, size: int, timeout: float = 20) -> None:
    """Until the link's file list shows ``path`` at ``size`` bytes (pushes are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        files = {f["path"]: f["size"] for f in preview(client, link)["files"]}
        if files.get(path) == size:
            return
        assert time.monotonic() < deadline, (path, size, files)
        time.sleep(0.5)


def on_disk_size(client: HubClient, path: str) -> int:
    r = client.server_api("GET", "api/contents/" + path, params={"content": "0"})
    assert r.status_code == 200, r.text
    return int(r.json()["size"])


def test_a_folder_travels_and_refreshes_file_by_file(alice: HubClient, bob: HubClient) -> None:
    mkdir(alice, "fproj")
    mkdir(alice, "fproj/sub")
    save_notebook(alice, "fproj/a.ipynb", "a = 1")
    save_notebook(alice, "fproj/b.ipynb", "b = 2")
    save_notebook(alice, "fproj/sub/c.ipynb", "c = 3")
    save_text(alice, "fproj/data.csv", "x,y\n1,2\n")
    # the Contents API makes no hidden files: a user's shell (here, a kernel) does
    run_in_root(alice, "open('fproj/.hidden-notes.txt', 'w').write('not for sharing')")
    r = alice.server_api("POST", "api/contents/fproj/a.ipynb/checkpoints")
    assert r.status_code == 201, r.text  # proj/.ipynb_checkpoints/a-checkpoint.ipynb

    created = share_folder(alice, "fproj")
    assert created["kind"] == "folder"
    paths = [f["path"] for f in created["files"]]
    assert paths == ["a.ipynb", "b.ipynb", "data.csv", "sub/c.ipynb"]
    assert {f["path"]: f["size"] for f in created["files"]}["data.csv"] == len("x,y\n1,2\n")
    left_out = {f["path"]: f["reason"] for f in created["left_out"]}
    assert left_out == {
        ".hidden-notes.txt": "hidden",
        ".ipynb_checkpoints": "hidden",
        "sub/.ipynb_checkpoints": "hidden",
    }
    assert created["environment"]["kernels"][0]["name"] == "python3"
    assert created["max_folder_files"] == 1000

    # bob's preview lists the files with their sizes; his import lands the folder
    seen = preview(bob, created["url"])
    assert seen["kind"] == "folder" and seen["owner"] == "alice"
    assert [f["path"] for f in seen["files"]] == paths
    # the link's page on the hub: the folder, its files with sizes, its kernels
    page = open_link(bob, created["url"])
    assert page.status_code == 200, page.text
    assert page.json()["kind"] == "folder" and page.json()["name"] == "fproj"
    assert [f[0] for f in page.json()["files"]] == paths
    assert dict(page.json()["files"])["data.csv"] == "8 bytes"
    assert ["Kernel", "Python 3 (ipykernel)"] in page.json()["environment"]
    first = import_link(bob, created["url"])
    assert first.status_code == 201, first.text
    assert first.json()["path"] == "shared/alice/fproj" and first.json()["action"] == "created"
    assert {f["path"]: f["action"] for f in first.json()["files"]} == dict.fromkeys(
        paths, "created"
    )
    assert cell_sources(bob, "shared/alice/fproj/sub/c.ipynb") == ["c = 3"]
    assert read_text(bob, "shared/alice/fproj/data.csv") == "x,y\n1,2\n"
    assert not exists(bob, "shared/alice/fproj/.hidden-notes.txt")

    # bob edits a.ipynb; alice changes a.ipynb and data.csv, and deletes b.ipynb
    save_notebook(bob, "shared/alice/fproj/a.ipynb", "a = 1", "bob's own cell")
    save_text(alice, "fproj/data.csv", "x,y\n1,2\n3,4\n")
    assert alice.server_api("DELETE", "api/contents/fproj/b.ipynb").status_code == 204
    save_notebook(alice, "fproj/a.ipynb", "a = 10", "alice's new cell", "and one more")
    # each save pushes the whole folder: wait for the push of the last one
    wait_for_size(alice, created["url"], "a.ipynb", on_disk_size(alice, "fproj/a.ipynb"))

    again = import_link(bob, created["url"])
    assert again.status_code == 201, again.text
    assert again.json()["action"] == "refreshed"
    files = {f["path"]: (f["action"], f["saved_as"]) for f in again.json()["files"]}
    assert files == {
        "a.ipynb": ("copied", "a-1.ipynb"),  # bob's edit stays; alice's version beside it
        "data.csv": ("refreshed", "data.csv"),
        "sub/c.ipynb": ("unchanged", "sub/c.ipynb"),
    }
    assert cell_sources(bob, "shared/alice/fproj/a.ipynb") == ["a = 1", "bob's own cell"]
    assert cell_sources(bob, "shared/alice/fproj/a-1.ipynb") == [
        "a = 10",
        "alice's new cell",
        "and one more",
    ]
    assert read_text(bob, "shared/alice/fproj/data.csv") == "x,y\n1,2\n3,4\n"
    # alice deleted b.ipynb: bob's copy stays
    assert cell_sources(bob, "shared/alice/fproj/b.ipynb") == ["b = 2"]

    # nothing new: the same import changes nothing
    same = import_link(bob, created["url"])
    assert same.status_code == 200, same.text
    assert same.json()["action"] == "unchanged"


def test_a_link_out_of_the_folder_is_not_followed(
    alice: HubClient, bob: HubClient, portal: Portal
) -> None:
    marker = f"TOP-SECRET-{uuid.uuid4().hex}"
    mkdir(alice, "flinked")
    save_text(alice, "private.txt", marker)
    save_text(alice, "flinked/inside.txt", "shared text")
    out = run_in_root(
        alice,
        "import os; os.symlink('../private.txt', 'flinked/leak.txt');"
        " os.symlink('inside.txt', 'flinked/alias.txt'); os.symlink('..', 'flinked/up');"
        " sorted(os.listdir('flinked'))",
    )
    assert "leak.txt" in out, out

    created = share_folder(alice, "flinked")
    assert [f["path"] for f in created["files"]] == ["alias.txt", "inside.txt"]
    left_out = {f["path"]: f["reason"] for f in created["left_out"]}
    assert left_out == {
        "leak.txt": "a link that leads out of the folder",
        "up": "a link that leads out of the folder",
    }
    # the target's content never reached the share service (its database and snapshots)
    for f in Path(portal.data_dir).rglob("*"):
        if f.is_file():
            assert marker.encode() not in f.read_bytes(), f
    imported = import_link(bob, created["url"])
    assert imported.status_code == 201, imported.text
    assert read_text(bob, "shared/alice/flinked/alias.txt") == "shared text"
    assert not exists(bob, "shared/alice/flinked/leak.txt")


def service_files(portal: Portal) -> set[str]:
    return {str(p) for p in Path(portal.data_dir).rglob("share-snapshots/*")}


def test_a_folder_over_the_cap_is_refused_with_the_cap(alice: HubClient, portal: Portal) -> None:
    out = run_in_root(
        alice,
        "import os, glob; os.makedirs('fmany', exist_ok=True)\n"
        "for i in range(1001): open(f'fmany/f{i:04}.txt', 'w').write('x')\n"
        "len(os.listdir('fmany'))",
    )
    assert "1001" in out, out
    before = service_files(portal)
    r = alice.server_api("POST", "sdcc-lab/api/shares", json={"path": "fmany"})
    assert r.status_code == 413, r.text
    assert "more than the limit of 1000 files" in r.json()["message"]
    # nothing half-written: no share, no snapshot or part file, no pack left on alice's side
    listed = alice.server_api("GET", "sdcc-lab/api/shares").json()["shares"]
    assert "fmany" not in [s["path"] for s in listed]
    assert service_files(portal) == before
    leftovers = run_in_root(
        alice, "import glob, tempfile; glob.glob(tempfile.gettempdir() + '/sdcc-folder-*')"
    )
    assert leftovers.strip() == "[]", leftovers
