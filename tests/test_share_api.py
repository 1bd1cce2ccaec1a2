"""The share REST API of the server extension (pytest-jupyter), with the real
share service app running in-process: every endpoint and every error code."""

from __future__ import annotations

import json
import os
import random
import string
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from share_fakes import MovableClock, RunningService, server_config, start_service
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path, clock: MovableClock) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_notebook_size=200_000, clock=clock)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path, max_notebook_size=200_000)


def write_notebook(root: Path, path: str, source: str = "print(1)") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


async def call(fetch: Fetch, method: str, *parts: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = ""
    try:
        r = await fetch("sdcc-lab", "api", *parts, **kwargs)
    except HTTPClientError as e:
        assert e.response is not None
        data = json.loads(e.response.body)
        assert isinstance(data["message"], str) and data["message"]
        return e.code, data
    return r.code, json.loads(r.body) if r.body else None


async def share(fetch: Fetch, path: str, **extra: Any) -> dict[str, Any]:
    code, data = await call(fetch, "POST", "shares", body={"path": path, **extra})
    assert code == 201, data
    return data


# --- POST shares ----------------------------------------------------------------------
async def test_share_creates_a_link_with_the_environment(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir, "analysis.ipynb")
    data = await share(jp_fetch, "analysis.ipynb", expires_in=3600)
    assert set(data) == {"id", "url", "token", "path", "expires_at", "environment", "audience"}
    assert data["path"] == "analysis.ipynb"
    assert data["url"].endswith("/services/share/open#" + data["token"])
    assert data["expires_at"].endswith("Z")
    assert data["environment"]["kernelspec"] == {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    assert data["environment"]["scheduler"] == "local"


async def test_share_lists_and_revokes(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir, "a.ipynb")
    created = await share(jp_fetch, "a.ipynb")
    code, listing = await call(jp_fetch, "GET", "shares")
    assert code == 200
    assert [s["id"] for s in listing["shares"]] == [created["id"]]
    assert set(listing["shares"][0]) == {
        "id",
        "path",
        "url",
        "created_at",
        "expires_at",
        "opens",
        "version",
        "audience",
        "kind",
    }
    assert listing["max_expires_in"] == 7 * 24 * 3600
    code, _ = await call(jp_fetch, "DELETE", "shares", created["id"])
    assert code == 204
    code, listing = await call(jp_fetch, "GET", "shares")
    assert listing["shares"] == []
    code, data = await call(jp_fetch, "POST", "imports", body={"link": created["url"]})
    assert code == 410 and "revoked" in data["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("not json", 400),
        ({"path": ""}, 400),
        ({"path": 5}, 400),
        ({"path": "../outside.ipynb"}, 400),
        ({"path": "sub/../../outside.ipynb"}, 400),
        ({"path": "/etc/passwd"}, 400),
        ({"path": "notes.txt"}, 400),
        ({"path": "broken.ipynb"}, 400),
        ({"path": "a.ipynb", "expires_in": "soon"}, 400),
        ({"path": "a.ipynb", "expires_in": -5}, 400),
        ({"path": "a.ipynb", "expires_in": 10 * 24 * 3600}, 400),
        ({"path": "missing.ipynb"}, 404),
        ({"path": "escape.ipynb"}, 403),
        ({"path": "big.ipynb"}, 413),
    ],
)
async def test_share_refuses_bad_input(
    jp_fetch: Fetch, jp_root_dir: Path, tmp_path: Path, body: Any, status: int
) -> None:
    write_notebook(jp_root_dir, "a.ipynb")
    (jp_root_dir / "folder").mkdir()
    (jp_root_dir / "notes.txt").write_text("hello")
    (jp_root_dir / "broken.ipynb").write_text('{"cells": [, "nbformat": 4}')
    outside = write_notebook(tmp_path / "elsewhere", "secret.ipynb")
    os.symlink(outside, jp_root_dir / "escape.ipynb")
    write_notebook(jp_root_dir, "big.ipynb", "x = '" + "y" * 300_000 + "'")
    code, data = await call(jp_fetch, "POST", "shares", body=body)
    assert code == status, data
    if status == 413:
        assert "limit of 195.3 KB" in data["message"]


async def test_the_service_limit_answers_413_with_the_limit(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService, jp_serverapp: Any
) -> None:
    # The server's own limit is higher than the service's: the service refuses.
    jp_serverapp.web_app.settings["sdcc_lab_shares"].client.max_notebook_size = 10**9
    write_notebook(jp_root_dir, "big.ipynb", "x = '" + "y" * 300_000 + "'")
    code, data = await call(jp_fetch, "POST", "shares", body={"path": "big.ipynb"})
    assert code == 413 and "limit of 195.3 KB" in data["message"]


async def test_names_with_spaces_and_non_ascii_letters(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    name = "Résumé des données (v2) 日本.ipynb"
    write_notebook(jp_root_dir, f"my dir/{name}", "print('ü')")
    created = await share(jp_fetch, f"my dir/{name}")
    code, data = await call(jp_fetch, "POST", "imports", body={"link": created["url"]})
    assert code == 201 and data["action"] == "created"
    assert data["path"] == f"shared/alice/{name}"
    nb = json.loads((jp_root_dir / data["path"]).read_text())
    assert "".join(nb["cells"][0]["source"]) == "print('ü')"


async def test_service_down_is_503_with_a_message(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    write_notebook(jp_root_dir, "a.ipynb")
    share_service.server.stop()
    code, data = await call(jp_fetch, "POST", "shares", body={"path": "a.ipynb"})
    assert code == 503 and "share service is unreachable" in data["message"]
    code, data = await call(jp_fetch, "GET", "shares")
    assert code == 503
    code, data = await call(jp_fetch, "POST", "imports", body={"link": "a" * 40})
    assert code == 503 and "unreachable" in data["message"]


# --- DELETE shares/{id} ------------------------------------------------------------------
async def test_delete_errors(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    code, _ = await call(jp_fetch, "DELETE", "shares", "not-an-id!")
    assert code == 400
    code, _ = await call(jp_fetch, "DELETE", "shares", "0123456789abcdef")
    assert code == 404
    # bob's share, straight through the service's API with bob's token
    bob = await service_share(share_service, "bob-token", jp_root_dir, "b.ipynb")
    code, _ = await call(jp_fetch, "DELETE", "shares", bob["id"])
    assert code == 403
    # an admin may revoke it
    r = await AsyncHTTPClient().fetch(
        share_service.api("shares/" + bob["id"]),
        method="DELETE",
        headers={"Authorization": "token admin-token"},
    )
    assert r.code == 204


async def service_share(
    svc: RunningService, token: str, root: Path, name: str, **query: Any
) -> dict[str, Any]:
    path = write_notebook(root, name)
    q = urllib.parse.urlencode({"path": name, **query})
    r = await AsyncHTTPClient().fetch(
        svc.api("shares?" + q),
        method="POST",
        body=path.read_bytes(),
        headers={"Authorization": f"token {token}"},
    )
    return dict(json.loads(r.body))


# --- imports ------------------------------------------------------------------------------
async def test_import_preview_names_owner_file_and_mismatches(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    env = {
        "scheduler": "slurm",
        "options": {"partition": "gpu", "account": "tier3"},
        "kernelspec": {"name": "julia-1.9", "display_name": "Julia 1.9", "language": "julia"},
    }
    bob = await service_share(
        share_service, "bob-token", jp_root_dir / "bobs", "x.ipynb", environment=json.dumps(env)
    )
    code, data = await call(jp_fetch, "POST", "imports", "preview", body={"link": bob["token"]})
    assert code == 200
    assert data["owner"] == "bob" and data["source_path"] == "x.ipynb"
    text = " | ".join(data["mismatches"])
    assert "Kernel: Julia 1.9" in text and "Where: Slurm batch job" in text
    assert "Partition: gpu" in text
    assert "account" not in text  # an account of one's own is not a mismatch
    assert (
        not list((jp_root_dir / "shared").glob("**/*.ipynb"))
        if (jp_root_dir / "shared").exists()
        else True
    )


async def test_import_created_unchanged_refreshed_copied(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    bob = await service_share(share_service, "bob-token", jp_root_dir / "bobs", "x.ipynb")
    link = bob["url"]
    code, first = await call(jp_fetch, "POST", "imports", body={"link": link})
    assert (code, first["action"], first["path"]) == (201, "created", "shared/bob/x.ipynb")
    copy = jp_root_dir / "shared/bob/x.ipynb"
    meta = json.loads(copy.read_text())["metadata"]["sdcc_lab_share"]
    assert meta["id"] == bob["id"] and meta["owner"] == "bob" and meta["path"] == "x.ipynb"
    assert meta["version"] == 1

    code, again = await call(jp_fetch, "POST", "imports", body={"link": link})
    assert (code, again["action"]) == (200, "unchanged")

    await push(share_service, "bob-token", jp_root_dir / "bobs/x.ipynb", "x.ipynb", "print(2)")
    code, refreshed = await call(jp_fetch, "POST", "imports", body={"link": link})
    assert (code, refreshed["action"], refreshed["path"]) == (
        201,
        "refreshed",
        "shared/bob/x.ipynb",
    )
    assert "print(2)" in copy.read_text()

    # The recipient edits the copy; the next version lands beside it.
    edited = json.loads(copy.read_text())
    edited["cells"][0]["source"] = "my own work"
    copy.write_text(json.dumps(edited))
    await push(share_service, "bob-token", jp_root_dir / "bobs/x.ipynb", "x.ipynb", "print(3)")
    code, copied = await call(jp_fetch, "POST", "imports", body={"link": link})
    assert (code, copied["action"], copied["path"]) == (201, "copied", "shared/bob/x-1.ipynb")
    assert "my own work" in copy.read_text()
    assert "print(3)" in (jp_root_dir / "shared/bob/x-1.ipynb").read_text()


async def push(svc: RunningService, token: str, path: Path, name: str, source: str) -> None:
    write_notebook(path.parent, path.name, source)
    r = await AsyncHTTPClient().fetch(
        svc.api("snapshots?" + urllib.parse.urlencode({"path": name})),
        method="PUT",
        body=path.read_bytes(),  # noqa: ASYNC240 (a small test file)
        headers={"Authorization": f"token {token}"},
    )
    assert r.code == 200


async def test_concurrent_imports_write_one_file(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    import asyncio

    bob = await service_share(share_service, "bob-token", jp_root_dir / "bobs", "c.ipynb")
    results = await asyncio.gather(
        *[call(jp_fetch, "POST", "imports", body={"link": bob["url"]}) for _ in range(5)]
    )
    actions = sorted(r[1]["action"] for r in results)
    assert actions == ["created", "unchanged", "unchanged", "unchanged", "unchanged"]
    files = sorted(p.name for p in (jp_root_dir / "shared/bob").iterdir())
    assert files == ["c.ipynb"]
    nbformat.validate(nbformat.read(str(jp_root_dir / "shared/bob/c.ipynb"), 4))


@pytest.mark.parametrize(
    ("link", "status"),
    [
        ("", 400),
        (5, 400),
        ("http://hub/some/page", 400),
        ("short", 400),
        ("<script>alert(1)</script>" * 2, 400),
    ],
)
async def test_import_refuses_malformed_links(jp_fetch: Fetch, link: Any, status: int) -> None:
    code, data = await call(jp_fetch, "POST", "imports", body={"link": link})
    assert code == status, data


async def test_import_refuses_a_tampered_or_foreign_token(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path
) -> None:
    bob = await service_share(share_service, "bob-token", jp_root_dir / "bobs", "t.ipynb")
    token = bob["token"]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (tampered, "eyJpIjoiMSJ9.abcdefgh.ijklmnopqrstu"):
        code, data = await call(jp_fetch, "POST", "imports", body={"link": bad})
        assert code == 403, data
        code, data = await call(jp_fetch, "POST", "imports", "preview", body={"link": bad})
        assert code == 403, data


async def test_expired_link_is_410(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path, clock: MovableClock
) -> None:
    bob = await service_share(
        share_service, "bob-token", jp_root_dir / "bobs", "e.ipynb", expires_in=60
    )
    clock.advance(59)
    code, data = await call(jp_fetch, "POST", "imports", body={"link": bob["url"]})
    assert code == 201, data  # a second before its end, the link still opens
    clock.advance(1)
    code, data = await call(jp_fetch, "POST", "imports", body={"link": bob["url"]})
    assert code == 410 and "expired" in data["message"]


async def test_share_requires_authentication(jp_fetch: Fetch) -> None:
    for method, part in (
        ("GET", "shares"),
        ("POST", "shares"),
        ("POST", "imports"),
        ("DELETE", "shares/0123"),
    ):
        with pytest.raises(HTTPClientError) as e:
            await jp_fetch(
                "sdcc-lab",
                "api",
                *part.split("/"),
                method=method,
                body="{}" if method == "POST" else None,
                headers={"Authorization": ""},
            )
        assert e.value.code == 403


async def test_admins_list_and_revoke_every_share(
    share_service: RunningService, jp_root_dir: Path
) -> None:
    bob = await service_share(share_service, "bob-token", jp_root_dir / "bobs", "adm.ipynb")
    client = AsyncHTTPClient()
    with pytest.raises(HTTPClientError) as e:
        await client.fetch(
            share_service.api("shares?all=1"), headers={"Authorization": "token alice-token"}
        )
    assert e.value.code == 403
    r = await client.fetch(
        share_service.api("shares?all=1"), headers={"Authorization": "token admin-token"}
    )
    assert bob["id"] in [s["id"] for s in json.loads(r.body)["shares"]]
    # Not the owner's token: alice cannot revoke bob's link.
    with pytest.raises(HTTPClientError) as e:
        await client.fetch(
            share_service.api("shares/" + bob["id"]),
            method="DELETE",
            headers={"Authorization": "token alice-token"},
        )
    assert e.value.code == 403


async def test_too_many_live_shares_is_403(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    share_service.service.max_live_shares = 2
    write_notebook(jp_root_dir, "m.ipynb")
    await share(jp_fetch, "m.ipynb")
    await share(jp_fetch, "m.ipynb")
    code, data = await call(jp_fetch, "POST", "shares", body={"path": "m.ipynb"})
    assert code == 403 and "2 live share links" in data["message"]


async def test_a_failed_push_never_fails_the_save(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    write_notebook(jp_root_dir, "saved.ipynb")
    await share(jp_fetch, "saved.ipynb")
    share_service.server.stop()
    nb = json.loads((jp_root_dir / "saved.ipynb").read_text())
    nb["cells"][0]["source"] = "saved while the service is down"
    r = await jp_fetch(
        "api",
        "contents",
        "saved.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": nb}),
    )
    assert r.code == 200
    assert "saved while the service is down" in (jp_root_dir / "saved.ipynb").read_text()


async def test_a_save_pushes_the_new_version(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    import asyncio

    write_notebook(jp_root_dir, "pushed.ipynb", "v1")
    created = await share(jp_fetch, "pushed.ipynb")
    nb = json.loads((jp_root_dir / "pushed.ipynb").read_text())
    nb["cells"][0]["source"] = "v2"
    await jp_fetch(
        "api",
        "contents",
        "pushed.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": nb}),
    )
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        record = share_service_record(share_service, created["id"])
        if record.version >= 2 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    assert record.version == 2
    assert '"v2"' in share_service_snapshot(share_service, created["id"])


def share_service_record(svc: RunningService, share_id: str) -> Any:
    return svc.store.get(share_id)


def share_service_snapshot(svc: RunningService, share_id: str) -> str:
    return svc.store.snapshot_path(share_id).read_text()


async def test_import_over_the_recipients_limit_is_413_and_writes_nothing(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService, jp_serverapp: Any
) -> None:
    bob = await service_share(share_service, "bob-token", jp_root_dir / "bobs", "huge.ipynb")
    write_notebook(jp_root_dir / "bobs", "huge.ipynb", "x = '" + "y" * 120_000 + "'")
    await push(
        share_service,
        "bob-token",
        jp_root_dir / "bobs/huge.ipynb",
        "huge.ipynb",
        "x = '" + "y" * 120_000 + "'",
    )
    jp_serverapp.web_app.settings["sdcc_lab_shares"].client.max_notebook_size = 100_000
    code, data = await call(jp_fetch, "POST", "imports", body={"link": bob["url"]})
    assert code == 413 and "limit of 97.7 KB" in data["message"]
    shared = jp_root_dir / "shared"
    assert not shared.exists() or not [p for p in shared.rglob("*") if p.is_file()]


# --- the service's one error shape ----------------------------------------------------
async def service_error(
    svc: RunningService,
    method: str,
    path: str,
    body: str | None = None,
    token: str | None = "alice-token",
) -> tuple[int, str, bytes]:
    headers = {"Authorization": f"token {token}"} if token else {}
    with pytest.raises(HTTPClientError) as e:
        await AsyncHTTPClient().fetch(
            svc.url + path,
            method=method,
            body=body,
            headers=headers,
            allow_nonstandard_methods=True,
        )
    assert e.value.response is not None
    return e.value.code, e.value.response.headers.get("Content-Type", ""), e.value.response.body


async def test_the_services_api_errors_are_json_messages(share_service: RunningService) -> None:
    """Every refusal of the service's API, its own or tornado's, is ``{"message"}`` with its status."""
    cases = [
        ("POST", "api/peek", "{}", None, 403, "the share service's API takes a hub API token"),
        (
            "POST",
            "api/peek",
            "{}",
            "forged-token",
            403,
            "the share service's API takes a hub API token",
        ),
        ("POST", "api/peek", "not json", "alice-token", 400, "the request body is not JSON"),
        ("POST", "api/peek", '{"token": "x"}', "alice-token", 403, "This share link is not valid"),
        ("PATCH", "api/peek", "{}", "alice-token", 405, "Method Not Allowed"),
    ]
    for method, path, body, token, status, message in cases:
        code, kind, raw = await service_error(share_service, method, path, body, token)
        assert (code, kind) == (status, "application/json"), (path, code, raw)
        assert set(json.loads(raw)) == {"message"} and json.loads(raw)["message"].startswith(
            message
        ), raw


async def test_the_services_pages_show_the_same_message_as_a_page(
    share_service: RunningService,
) -> None:
    code, kind, raw = await service_error(
        share_service, "GET", "open?next=https://evil.example/", token=None
    )
    assert (code, kind) == (400, "text/html; charset=utf-8")
    assert (
        "&#x27;next&#x27; must be a path below /hub/user-redirect/ on this hub" in raw.decode()
    ), raw


@pytest.mark.parametrize("value", ["%1D", "%1C", "%0B", "%20%1D"])
async def test_a_next_of_control_characters_is_refused_not_dropped(
    share_service: RunningService, value: str
) -> None:
    """Python counts these as blanks: stripped, the page used to fall back to the default (N5)."""
    code, kind, raw = await service_error(share_service, "GET", f"open?next={value}", token=None)
    assert (code, kind) == (400, "text/html; charset=utf-8"), raw


# --- malformed input the fuzzer (or a person) can send: 4xx, never a 500 ---------------------
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


async def service_call(
    svc: RunningService,
    method: str,
    path: str,
    body: str | bytes | None = None,
    token: str = "alice-token",
) -> tuple[int, Any]:
    r = await AsyncHTTPClient().fetch(
        svc.url + path,
        method=method,
        body=body,
        headers={"Authorization": f"token {token}"},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    return r.code, json.loads(r.body) if r.body else None


async def assert_alice_lists(svc: RunningService, count: int) -> None:
    """The caller's listing still answers (a stored bad value would break it for good)."""
    code, listing = await service_call(svc, "GET", "api/shares")
    assert code == 200, listing
    assert len(listing["shares"]) == count


@pytest.mark.parametrize(
    "environment",
    [
        "[" * 5000,  # nested past Python's recursion limit: was a 500 (RecursionError)
        '{"a": "\\ud800"}',  # a lone surrogate: was stored, then every listing was a 500
        '{"a": NaN}',  # not JSON: answers would carry NaN
        '{"a": Infinity}',
        "[]",
    ],
)
async def test_a_bad_environment_is_400_and_stores_nothing(
    share_service: RunningService, environment: str
) -> None:
    q = urllib.parse.urlencode({"path": "a.ipynb", "environment": environment})
    code, data = await service_call(share_service, "POST", "api/shares?" + q, NOTEBOOK)
    assert code == 400, data
    assert data["message"].startswith("'environment' must be"), data
    await assert_alice_lists(share_service, 0)


@pytest.mark.parametrize("field", ["from", "to"])
async def test_a_rename_to_or_from_a_lone_surrogate_is_400(
    share_service: RunningService, field: str
) -> None:
    code, _ = await service_call(share_service, "POST", "api/shares?path=a.ipynb", NOTEBOOK)
    assert code == 201
    body = {"from": "a.ipynb", "to": "b.ipynb", field: "x\ud800.ipynb"}
    code, data = await service_call(share_service, "POST", "api/renames", json.dumps(body))
    assert (code, data) == (400, {"message": "'path' must be text (UTF-8)"})
    await assert_alice_lists(share_service, 1)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("api/shares/not-an-id", "application/json"),
        ("api/nothing", "application/json"),
        ("nothing/here", "text/html; charset=utf-8"),
    ],
)
async def test_unknown_urls_are_404_in_the_services_error_shape(
    share_service: RunningService, path: str, kind: str
) -> None:
    r = await AsyncHTTPClient().fetch(
        share_service.url + path, method="DELETE", raise_error=False, allow_nonstandard_methods=True
    )
    assert (r.code, r.headers["Content-Type"]) == (404, kind)
    if kind == "application/json":
        assert json.loads(r.body) == {
            "message": "no such page or API endpoint of the share service"
        }
    else:
        assert "no such page or API endpoint of the share service" in r.body.decode()


@pytest.mark.parametrize(
    "expires_in",
    # Blank was taken as "the default" (fuzz finding N4); Python's int() also took "1_000",
    # "+5" and other scripts' digits. The servers send a plain decimal integer or nothing.
    ["9" * 5000, "9" * 400, "-1", "0", "1e3", "1.5", " ", "", "1_000", "+5", "\u0661\u0662"],
)
async def test_odd_expiries_are_400(share_service: RunningService, expires_in: str) -> None:
    q = urllib.parse.urlencode({"path": "a.ipynb", "expires_in": expires_in})
    code, data = await service_call(share_service, "POST", "api/shares?" + q, NOTEBOOK)
    assert code == 400, data
    assert data["message"].startswith("'expires_in' must be"), data
    await assert_alice_lists(share_service, 0)


@pytest.mark.parametrize(
    "body",
    [
        '{"token": 5}',
        '{"token": ["x"]}',
        '{"token": null}',
        '{"token": {"a": 1}}',
        '{"token": 1e999}',
        '{"token": "x", "unknown": [1, 2]}',
        '"just a string"',
        "[" * 100_000,
    ],
)
async def test_peek_and_fetch_refuse_wrong_json_types(
    share_service: RunningService, body: str
) -> None:
    for endpoint in ("api/peek", "api/fetch"):
        code, data = await service_call(share_service, "POST", endpoint, body)
        assert code in (400, 403, 413), (endpoint, code, data)
        assert set(data) == {"message"}


async def test_the_service_serves_its_openapi_description(share_service: RunningService) -> None:
    r = await AsyncHTTPClient().fetch(share_service.url + "api/openapi.json")
    document = json.loads(r.body)
    assert document["info"]["title"] == "sdcc_lab share service"
    assert document["servers"] == [{"url": "/services/share"}]
    assert "/api/shares" in document["paths"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("PUT", "api/shares?path=a.ipynb", 405),  # was: the connection dropped, no answer
        ("PATCH", "api/shares?path=a.ipynb", 405),
        ("DELETE", "api/shares", 405),
        ("POST", "api/snapshots?path=a.ipynb", 405),
        ("GET", "api/shares", 200),  # a body on a GET is read and ignored
    ],
)
async def test_a_body_sent_with_another_method_to_an_upload_endpoint_gets_an_answer(
    share_service: RunningService, method: str, path: str, status: int
) -> None:
    """Upload endpoints read bodies as they stream; a method that is no upload must still
    be answered (found by schemathesis: ``PUT api/shares`` with a notebook body)."""
    code, data = await service_call(share_service, method, path, NOTEBOOK)
    assert code == status, data
    if status == 405:
        assert data == {"message": "Method Not Allowed"}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "api/peek", "POST"),
        ("PUT", "api/shares", "GET, POST"),
        ("GET", "api/shares/0abc", "DELETE"),
        ("DELETE", "open", "GET, POST"),
    ],
)
async def test_a_405_names_the_methods_the_url_has(
    share_service: RunningService, method: str, path: str, allow: str
) -> None:
    r = await AsyncHTTPClient().fetch(
        share_service.url + path,
        method=method,
        body=None if method in ("GET", "DELETE") else "{}",
        headers={"Authorization": "token alice-token"},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    assert (r.code, r.headers.get("Allow")) == (405, allow)


_RANDOM = random.Random(16)
# Text zlib cannot shrink: the token (which carries path and environment) stays long.
NOISE = "".join(_RANDOM.choice(string.ascii_letters + string.digits) for _ in range(8000))
LONG_ENVIRONMENT = json.dumps({"note": NOISE})
LONG_NAME = "".join(_RANDOM.choice(string.ascii_letters) for _ in range(3000))


async def test_a_link_too_long_to_open_is_never_made(share_service: RunningService) -> None:
    """The token carries the path and the environment; the service must not hand out a
    link its own check (at most 8192 characters) would refuse as not a share link."""
    q = urllib.parse.urlencode({"path": LONG_NAME + ".ipynb", "environment": LONG_ENVIRONMENT})
    code, data = await service_call(share_service, "POST", "api/shares?" + q, NOTEBOOK)
    if code == 201:  # made: then it must open (it did not: 403 "not a share link token")
        code, data = await service_call(
            share_service, "POST", "api/peek", json.dumps({"token": data["token"]})
        )
        assert code == 200, data
    assert (code, data["message"]) == (
        400,
        "the file's path and the session's environment are too long for a share link",
    )
    await assert_alice_lists(share_service, 0)


async def test_a_rename_that_would_make_links_unopenable_is_400(
    share_service: RunningService,
) -> None:
    environment = json.dumps({"note": NOISE[:7000]})  # a link that still fits
    q = urllib.parse.urlencode({"path": "dir/a.ipynb", "environment": environment})
    code, created = await service_call(share_service, "POST", "api/shares?" + q, NOTEBOOK)
    assert code == 201, created
    body = {"from": "dir", "to": LONG_NAME}
    code, data = await service_call(share_service, "POST", "api/renames", json.dumps(body))
    assert (code, data) == (
        400,
        {"message": "the new path is too long for the share links of this file"},
    )
    code, listing = await service_call(share_service, "GET", "api/shares")
    (share,) = listing["shares"]
    assert share["path"] == "dir/a.ipynb"
    code, data = await service_call(
        share_service, "POST", "api/peek", json.dumps({"token": share["token"]})
    )
    assert code == 200, data


async def test_a_kernel_name_too_long_for_a_link_is_400_and_leaves_nothing(
    share_service: RunningService,
) -> None:
    """The notebook's kernelspec joins the link's environment (and its token) after the body."""
    notebook = json.dumps(
        {
            "cells": [],
            "metadata": {"kernelspec": {"name": "k", "display_name": NOISE + LONG_NAME}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    code, data = await service_call(share_service, "POST", "api/shares?path=k.ipynb", notebook)
    assert (code, data["message"]) == (
        400,
        "the file's path and the session's environment are too long for a share link",
    )
    await assert_alice_lists(share_service, 0)
    assert [p.name for p in share_service.store.snapshot_dir.iterdir()] == []
