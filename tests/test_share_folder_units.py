"""Folder shares without a hub: the pack module, the share service's checks of a
folder upload (the real service app in-process, only the hub's token table
replaced, see ``share_fakes``) and the server extension's errors.

The end-to-end story (real hub, alice and bob) is ``test_share_folder.py``.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from share_fakes import RunningService, server_config, start_service
from test_share_api import Fetch, call, write_notebook
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sdcc_lab.folderpack import (
    BadPack,
    FolderTooBig,
    list_folder,
    read_manifest,
    write_pack,
)
from sdcc_lab.server.imports import numbered


# --- the pack module ---------------------------------------------------------------
def test_a_listing_leaves_out_hidden_files_and_links_out_of_the_folder(tmp_path: Path) -> None:
    top = tmp_path / "proj"
    (top / "sub" / ".ipynb_checkpoints").mkdir(parents=True)
    (top / "a.ipynb").write_text("{}")
    (top / "sub" / "data.csv").write_text("1,2\n")
    (top / ".env").write_text("SECRET=1")
    (tmp_path / "outside.txt").write_text("secret")
    os.symlink("../outside.txt", top / "leak.txt")
    os.symlink("a.ipynb", top / "alias.ipynb")
    os.symlink("sub", top / "sub-link")
    os.mkfifo(top / "pipe")
    listing = list_folder(top, 10, 1000)
    assert listing.files == [("a.ipynb", 2), ("alias.ipynb", 2), ("sub/data.csv", 4)]
    assert dict(listing.left_out) == {
        ".env": "hidden",
        "leak.txt": "a link that leads out of the folder",
        "sub-link": "a link to a folder",
        "pipe": "not a regular file",
        "sub/.ipynb_checkpoints": "hidden",
    }
    out = io.BytesIO()
    write_pack(top, listing, out)
    pack = tmp_path / "pack.tar"
    pack.write_bytes(out.getvalue())
    assert b"secret" not in out.getvalue()
    assert read_manifest(pack, 10, 1000) == listing.files


def test_a_listing_stops_at_the_caps(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"f{i}").write_text("xx")
    with pytest.raises(FolderTooBig, match="more than the limit of 2 files"):
        list_folder(tmp_path, 2, 1000)
    with pytest.raises(FolderTooBig, match="more than the limit of 5 bytes"):
        list_folder(tmp_path, 10, 5)


def tar_of(entries: list[tuple[str, bytes]], link: str | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return out.getvalue()


@pytest.mark.parametrize(
    ("entries", "link"),
    [
        ([("../evil.txt", b"x")], None),
        ([("/etc/cron.d/x", b"x")], None),
        ([("sub/.bashrc", b"x")], None),
        ([("a.txt", b"x"), ("a.txt", b"y")], None),
        ([("a.txt", b"x")], "b.txt"),
    ],
)
def test_a_pack_with_a_name_leading_out_or_a_link_is_refused(
    tmp_path: Path, entries: list[tuple[str, bytes]], link: str | None
) -> None:
    pack = tmp_path / "p.tar"
    pack.write_bytes(tar_of(entries, link))
    with pytest.raises(BadPack):
        read_manifest(pack, 10, 1000)


def test_a_pack_that_is_not_a_tar_is_refused(tmp_path: Path) -> None:
    pack = tmp_path / "p.tar"
    pack.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BadPack):
        read_manifest(pack, 10, 1000)


def test_a_copy_beside_keeps_the_suffix() -> None:
    assert numbered("analysis.ipynb", 1) == "analysis-1.ipynb"
    assert numbered("data.csv", 2) == "data-2.csv"
    assert numbered("README", 1) == "README-1"


# --- the share service ---------------------------------------------------------------
@pytest.fixture
def service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_folder_files=2, max_folder_size=1000)
    yield running
    running.server.stop()


async def upload(
    service: RunningService, method: str, endpoint: str, body: bytes, **query: str
) -> tuple[int, dict[str, Any]]:
    url = service.api(endpoint) + "?" + urllib.parse.urlencode(query)
    try:
        r = await AsyncHTTPClient().fetch(
            url, method=method, body=body, headers={"Authorization": "token alice-token"}
        )
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)
    return r.code, json.loads(r.body)


def leftovers(service: RunningService) -> list[str]:
    return sorted(p.name for p in service.store.snapshot_dir.iterdir())


async def test_the_service_stores_a_folder_and_lists_its_files(service: RunningService) -> None:
    code, share = await upload(
        service,
        "POST",
        "shares",
        tar_of([("a.txt", b"x"), ("s/b.csv", b"yy")]),
        path="proj",
        kind="folder",
    )
    assert code == 201, share
    assert share["kind"] == "folder"
    assert share["files"] == [{"path": "a.txt", "size": 1}, {"path": "s/b.csv", "size": 2}]
    # a new version must be a folder's pack too
    code, data = await upload(
        service, "PUT", "snapshots", b'{"cells": [], "metadata": {}, "nbformat": 4}', path="proj"
    )
    assert code == 400 and "of a folder" in data["message"], data
    code, data = await upload(
        service, "PUT", "snapshots", tar_of([("a.txt", b"xyz")]), path="proj", kind="folder"
    )
    assert code == 200, data
    assert service.store.folder_files([service.store.get(share["id"]).snapshot_key]) == {  # type: ignore[union-attr]
        service.store.get(share["id"]).snapshot_key: [("a.txt", 3)]  # type: ignore[union-attr]
    }


@pytest.mark.parametrize(
    ("body", "query", "status", "message"),
    [
        (b"x", {"kind": "zip"}, 400, "'kind' must be"),
        (tar_of([("../evil", b"x")]), {"kind": "folder"}, 400, "not a file name"),
        (b"no tar", {"kind": "folder"}, 400, "not a folder pack"),
        (
            tar_of([("a", b"x"), ("b", b"x"), ("c", b"x")]),
            {"kind": "folder"},
            413,
            "more than the limit of 2 files",
        ),
        (
            b"x" * (1000 + 2 * 6 * 1024 + 20 * 1024 + 1),  # past the pack's limit: cut off
            {"kind": "folder"},
            413,
            "larger than the limit of 1000 bytes",
        ),
        (
            tar_of([("a", b"x" * 600), ("b", b"x" * 600)]),
            {"kind": "folder"},
            413,
            "more than the limit of 1000 bytes",
        ),
    ],
)
async def test_the_service_refuses_a_bad_folder_and_keeps_nothing(
    service: RunningService, body: bytes, query: dict[str, str], status: int, message: str
) -> None:
    code, data = await upload(service, "POST", "shares", body, path="proj", **query)
    assert code == status and message in data["message"], data
    assert service.store.list("alice") == []
    assert leftovers(service) == []


# --- the server extension --------------------------------------------------------------
@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_folder_files=3, max_folder_size=100_000)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path)


async def test_the_server_refuses_a_folder_over_the_cap_before_sending_it(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    for i in range(4):
        write_notebook(jp_root_dir, f"many/n{i}.ipynb")
    code, data = await call(jp_fetch, "POST", "shares", body={"path": "many"})
    assert code == 413, data
    assert data["message"] == "many: the folder has 4 files, more than the limit of 3 files"
    assert share_service.store.list("alice") == []
    assert leftovers(share_service) == []


@pytest.mark.parametrize(
    ("path", "status"),
    [("../outside", 400), ("sub/../..", 400), ("/etc", 400)],
)
async def test_the_server_refuses_a_folder_path_leading_out(
    jp_fetch: Fetch, jp_root_dir: Path, path: str, status: int
) -> None:
    (jp_root_dir / "sub").mkdir()
    code, data = await call(jp_fetch, "POST", "shares", body={"path": path})
    assert code == status, data


async def test_the_server_shares_and_imports_a_folder(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    write_notebook(jp_root_dir, "proj/a.ipynb")
    (jp_root_dir / "proj" / "data.csv").write_text("1,2\n")
    code, share = await call(jp_fetch, "POST", "shares", body={"path": "proj"})
    assert code == 201, share
    assert share["kind"] == "folder" and [f["path"] for f in share["files"]] == [
        "a.ipynb",
        "data.csv",
    ]
    assert share["environment"]["kernels"] == [
        {"name": "python3", "display_name": "Python 3", "language": "python"}
    ]
    # alice imports her own link: it lands as anyone's would
    code, result = await call(jp_fetch, "POST", "imports", body={"link": share["url"]})
    assert code == 201, result
    assert result["path"] == "shared/alice/proj" and result["kind"] == "folder"
    assert (jp_root_dir / "shared/alice/proj/data.csv").read_text() == "1,2\n"


async def test_a_folder_import_never_writes_through_a_file_in_the_way(
    jp_fetch: Fetch, jp_root_dir: Path, tmp_path: Path
) -> None:
    write_notebook(jp_root_dir, "proj/sub/a.ipynb")
    (jp_root_dir / "proj" / "top.csv").write_text("1\n")
    code, share = await call(jp_fetch, "POST", "shares", body={"path": "proj"})
    assert code == 201, share
    # the whole target is a file of the recipient's: 409, nothing written
    (jp_root_dir / "shared" / "alice").mkdir(parents=True)
    (jp_root_dir / "shared" / "alice" / "proj").write_text("mine")
    code, data = await call(jp_fetch, "POST", "imports", body={"link": share["url"]})
    assert code == 409 and "shared/alice/proj is a file" in data["message"], data
    assert (jp_root_dir / "shared" / "alice" / "proj").read_text() == "mine"
    # a folder on the way is a file of the recipient's: that file is skipped, the rest lands
    (jp_root_dir / "shared" / "alice" / "proj").unlink()
    (jp_root_dir / "shared" / "alice" / "proj").mkdir()
    (jp_root_dir / "shared" / "alice" / "proj" / "sub").write_text("mine too")
    code, data = await call(jp_fetch, "POST", "imports", body={"link": share["url"]})
    assert code == 201, data
    assert {f["path"]: f["action"] for f in data["files"]} == {
        "sub/a.ipynb": "skipped",
        "top.csv": "created",
    }
    assert (jp_root_dir / "shared" / "alice" / "proj" / "sub").read_text() == "mine too"
    # a folder on the way is the recipient's link to elsewhere: never written through
    (jp_root_dir / "shared" / "alice" / "proj" / "sub").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, jp_root_dir / "shared" / "alice" / "proj" / "sub")
    code, data = await call(jp_fetch, "POST", "imports", body={"link": share["url"]})
    assert code == 200, data  # nothing written: top.csv is as imported
    assert {f["path"]: f["action"] for f in data["files"]}["sub/a.ipynb"] == "skipped"
    assert list(elsewhere.iterdir()) == []
