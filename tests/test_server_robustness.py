"""Inputs nobody thought of, on the server extension's endpoints (pytest-jupyter with
the real share service in-process): each answers a 4xx with ``{"message"}`` or a
well-formed 2xx, never a 500. Each case here was a 500 before its fix (see the
commit) or is a neighbour of one; the fuzzer (tests/fuzz) looks for more."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from share_fakes import RunningService, server_config, start_service
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

Fetch = Callable[..., Awaitable[Any]]


@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_notebook_size=200_000)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path, max_notebook_size=200_000, scheduler_free=True)


async def call(fetch: Fetch, method: str, *parts: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = ""
    try:
        r = await fetch("sdcc-lab", "api", *parts, **kwargs)
    except HTTPClientError as e:
        assert e.response is not None
        data = json.loads(e.response.body)
        assert isinstance(data["message"], str) and data["message"], data
        return e.code, data
    return r.code, json.loads(r.body) if r.body else None


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# JSON text, not Python objects: a lone surrogate is valid JSON (\ud800) but no file name.
@pytest.mark.parametrize(
    "raw",
    [
        '{"path": "\\ud800.ipynb"}',
        '{"path": "a\\udfff/b.ipynb"}',
        '{"path": "x.ipynb", "expires_in": 1.5}',
        '{"path": "x.ipynb", "expires_in": "60"}',
        '{"path": "' + "a" * 5000 + '.ipynb"}',
        '{"path": "' + "a/" * 3000 + 'x.ipynb"}',
        '{"path": ["x.ipynb"]}',
        '{"path": {"a": 1}}',
        '{"path": 7}',
    ],
)
async def test_odd_share_paths_are_4xx(jp_fetch: Fetch, jp_root_dir: Path, raw: str) -> None:
    write_notebook(jp_root_dir / "x.ipynb")
    code, data = await call(jp_fetch, "POST", "shares", body=raw)
    assert code in (400, 404), data


async def test_a_huge_expires_in_is_a_400(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "x.ipynb")
    code, data = await call(
        jp_fetch, "POST", "shares", body={"path": "x.ipynb", "expires_in": 10**40}
    )
    assert code == 400 and "expires_in" in data["message"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"link": "\\ud800"}',
        '{"link": "https://h/open#\\udfff"}',
        '{"link": "%ff%fe"}',
        # urllib refuses these addresses with a ValueError (a bracket left open; a
        # character that NFKC turns into a separator in the host part)
        '{"link": "https://[h/services/share/open#' + "a" * 20 + '"}',
        '{"link": "https://a\\uff03b@h/services/share/open#' + "a" * 20 + '"}',
    ],
)
@pytest.mark.parametrize("endpoint", [("imports", "preview"), ("imports",)])
async def test_odd_links_are_400(jp_fetch: Fetch, raw: str, endpoint: tuple[str, ...]) -> None:
    code, data = await call(jp_fetch, "POST", *endpoint, body=raw)
    assert code == 400, data


@pytest.mark.parametrize("share_id", ["%ED%A0%80", "a" * 500, "%00", "..", "ABC"])
async def test_odd_share_ids_are_4xx(jp_fetch: Fetch, share_id: str) -> None:
    code, data = await call(jp_fetch, "DELETE", "shares", share_id)
    assert code in (400, 404), data


@pytest.mark.parametrize("body", [b"\xff\xfe\x00", b"[1, 2]", b"null", b'"x"', b"{" * 100_000])
@pytest.mark.parametrize("endpoint", [("shares",), ("imports", "preview"), ("imports",)])
async def test_bodies_that_are_no_json_object_are_4xx(
    jp_fetch: Fetch, body: bytes, endpoint: tuple[str, ...]
) -> None:
    code, data = await call(jp_fetch, "POST", *endpoint, body=body)
    assert code in (400, 413), data


# What a link carries is whatever the sender's server put there: the share service keeps
# any JSON object of at most 8 KiB. The sender can call the service themselves (their
# server's token) and hand the recipient a link whose environment has any shape.
ODD_ENVIRONMENTS = [
    {"options": ["gpu"]},
    {"options": "partition=gpu"},
    {"options": {"partition": ["a", "b"], "gpus": {"n": 1}}},
    {"kernelspec": {"name": ["python3"]}},
    {"kernelspec": {"name": {"x": 1}, "display_name": 3}},
    {"kernelspec": "python3"},
    {"scheduler": ["slurm"]},
    {"scheduler": 5, "options": None, "kernelspec": None},
]


@pytest.mark.parametrize("env", ODD_ENVIRONMENTS)
async def test_a_link_with_an_odd_environment_previews_and_imports(
    jp_fetch: Fetch, share_service: RunningService, jp_root_dir: Path, env: dict[str, Any]
) -> None:
    path = write_notebook(jp_root_dir / "bobs" / "x.ipynb")
    q = urllib.parse.urlencode({"path": "x.ipynb", "environment": json.dumps(env)})
    r = await AsyncHTTPClient().fetch(
        share_service.api("shares?" + q),
        method="POST",
        body=path.read_bytes(),
        headers={"Authorization": "token bob-token"},
    )
    token = json.loads(r.body)["token"]
    for endpoint in (("imports", "preview"), ("imports",)):
        code, data = await call(jp_fetch, "POST", *endpoint, body={"link": token})
        assert code in (200, 201), data
        assert all(isinstance(m, str) for m in data["mismatches"])
        environment = data["environment"]
        assert isinstance(environment, dict)
        options = environment.get("options", {})
        assert isinstance(options, dict)
        assert all(isinstance(v, (str, int, float, bool, type(None))) for v in options.values())
        assert isinstance(environment.get("kernelspec", {}), dict)
        assert isinstance(environment.get("scheduler", ""), str)
        assert data["spawn_url"] is None or isinstance(data["spawn_url"], str)
    assert (jp_root_dir / "shared" / "bob" / "x.ipynb").is_file()


async def test_a_notebook_whose_name_is_not_utf8_is_a_400(
    jp_fetch: Fetch, jp_root_dir: Path
) -> None:
    """A file name of bytes that are not UTF-8 (the contents API shows it with a lone
    surrogate, ``\\udcff``) cannot be recorded by the share service: a clear 400."""
    nb = write_notebook(jp_root_dir / "x.ipynb")
    target = Path(os.fsdecode(os.fsencode(str(jp_root_dir)) + b"/\xff.ipynb"))
    nb.rename(target)
    code, data = await call(jp_fetch, "POST", "shares", body='{"path": "\\udcff.ipynb"}')
    assert code == 400 and "name" in data["message"], data


@pytest.mark.parametrize(
    "record",
    [
        {"imports": 5, "latest": []},
        {"imports": {"x": [1]}, "latest": {"share:0": 7}},
        {"imports": [], "latest": "abc"},
        [1, 2],
    ],
)
async def test_an_import_record_of_odd_shape_does_not_block_imports(
    jp_fetch: Fetch,
    share_service: RunningService,
    jp_root_dir: Path,
    tmp_path: Path,
    record: Any,
) -> None:
    """The record of past imports is a file in the user's Jupyter data folder (any
    program of theirs may have written it): a shape it does not know is started
    afresh, and the import goes on."""
    (tmp_path / "imports.json").write_text(json.dumps(record))
    path = write_notebook(jp_root_dir / "bobs" / "x.ipynb")
    r = await AsyncHTTPClient().fetch(
        share_service.api("shares?path=x.ipynb"),
        method="POST",
        body=path.read_bytes(),
        headers={"Authorization": "token bob-token"},
    )
    share = json.loads(r.body)
    if isinstance(record, dict) and isinstance(record.get("latest"), dict):
        record["latest"]["share:" + share["id"]] = 7  # a value that is no path
        (tmp_path / "imports.json").write_text(json.dumps(record))
    code, data = await call(jp_fetch, "POST", "imports", body={"link": share["token"]})
    assert code == 201 and data["path"] == "shared/bob/x.ipynb", data
    code, data = await call(jp_fetch, "POST", "imports", body={"link": share["token"]})
    assert code == 200 and data["action"] == "unchanged", data
