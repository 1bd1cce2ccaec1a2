"""The server extension's OpenAPI description (``sdcc_lab/openapi/server.json``):
valid, served at ``sdcc-lab/api/openapi.json``, and equal to what the extension
registers — every route and every method, both ways — so the two cannot drift."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from openapi_check import assert_matches
from openapi_spec_validator import validate
from share_fakes import RunningService, server_config, start_service
from tornado.httpclient import HTTPClientError
from tornado.routing import PathMatches, Rule, RuleRouter

from sdcc_lab import openapi

Fetch = Callable[..., Awaitable[Any]]
# OPTIONS (CORS preflight) and HEAD come with jupyter_server's APIHandler for every route.
METHODS = ("get", "post", "put", "patch", "delete")
PREFIX = "/sdcc-lab/api"


@pytest.fixture
def share_service(io_loop: Any, tmp_path: Path) -> Iterator[RunningService]:
    running = start_service(tmp_path / "service", max_notebook_size=200_000)
    yield running
    running.server.stop()


@pytest.fixture
def jp_server_config(share_service: RunningService, tmp_path: Path) -> dict[str, Any]:
    return server_config(share_service, tmp_path, max_notebook_size=200_000, scheduler_free=True)


def test_the_description_is_valid_openapi() -> None:
    validate(openapi.load("server"))


def test_every_error_response_is_the_error_shape() -> None:
    doc = openapi.load("server")
    for path, item in doc["paths"].items():
        for method in set(item) & set(METHODS):
            for status, response in item[method]["responses"].items():
                if int(status) < 400:
                    continue
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
            # Every operation needs an authenticated user: 403 is always documented.
            assert "403" in item[method]["responses"], (path, method)


def _rules(router: RuleRouter) -> Iterator[Rule]:
    for rule in router.rules:
        if isinstance(rule.target, RuleRouter):
            yield from _rules(rule.target)
        else:
            yield rule


def _template(regex: str, prefix: str = PREFIX) -> str:
    """A route's regex as an OpenAPI path: each group is one ``{…}`` segment."""
    path = regex.rstrip("$")
    assert path.startswith(prefix + "/"), path
    path = path[len(prefix) :].replace(r"\.", ".")
    return re.sub(r"\(\[\^/\]\+\)", "{}", path)


def _implemented(handler: type) -> set[str]:
    from tornado.web import RequestHandler

    return {m for m in METHODS if getattr(handler, m) is not getattr(RequestHandler, m)}


def registered_routes(web_app: Any) -> dict[str, set[str]]:
    """Every route under ``{base_url}sdcc-lab/api/`` the running server has, with its methods."""
    prefix = web_app.settings["base_url"].rstrip("/") + PREFIX
    found: dict[str, set[str]] = {}
    for rule in _rules(web_app.default_router):
        pattern = rule.matcher.regex.pattern if isinstance(rule.matcher, PathMatches) else ""
        if pattern.startswith(prefix + "/"):
            found[_template(pattern, prefix)] = _implemented(rule.target)
    return found


def described_routes() -> dict[str, set[str]]:
    doc = openapi.load("server")
    assert doc["servers"][0]["url"] == "{base_url}sdcc-lab/api"
    return {
        re.sub(r"\{[^}/]+\}", "{}", path): set(item) & set(METHODS)
        for path, item in doc["paths"].items()
    }


async def test_the_routes_the_extension_registers_are_the_described_ones(
    jp_serverapp: Any,
) -> None:
    registered = registered_routes(jp_serverapp.web_app)
    described = described_routes()
    assert "/shares/{}" in registered and "/workers/{}" in registered  # the walk found them
    assert sorted(set(registered) - set(described)) == [], "routes missing in server.json"
    assert sorted(set(described) - set(registered)) == [], "paths server.json has no route for"
    assert registered == described  # and the same methods on each


def test_the_handler_lists_are_the_described_paths() -> None:
    """The handler lists themselves (what ``load_extension`` adds), without a server."""
    from sdcc_lab.server.extend import extend_handlers
    from sdcc_lab.server.handlers import default_handlers
    from sdcc_lab.server.resources import resources_handlers
    from sdcc_lab.server.shares import share_handlers
    from sdcc_lab.server.workers import workers_handlers
    from sdcc_lab.server.workspace import workspace_handlers

    listed = {
        _template(pattern + "$"): _implemented(handler)
        for make in (
            default_handlers,
            share_handlers,
            resources_handlers,
            workers_handlers,
            extend_handlers,
            workspace_handlers,
        )
        for pattern, handler in make("/")
    }
    assert listed == described_routes()


async def test_the_description_is_served(jp_fetch: Fetch) -> None:
    r = await jp_fetch("sdcc-lab", "api", "openapi.json")
    assert r.code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert json.loads(r.body) == openapi.load("server")


async def test_the_description_needs_authentication(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "openapi.json", headers={"Authorization": ""})
    assert e.value.code == 403
    assert e.value.response is not None
    assert json.loads(e.value.response.body)["message"]


async def test_a_lookalike_of_the_description_path_is_not_served(jp_fetch: Fetch) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("sdcc-lab", "api", "openapiXjson")
    assert e.value.code == 404


async def answer(fetch: Fetch, method: str, *parts: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method}
    if method in ("POST", "PUT"):
        kwargs["body"] = json.dumps(body) if body is not None else ""
    try:
        r = await fetch("sdcc-lab", "api", *parts, **kwargs)
    except HTTPClientError as e:
        assert e.response is not None
        return e.code, json.loads(e.response.body)
    return r.code, json.loads(r.body) if r.body else None


async def test_every_answer_has_the_described_shape(
    jp_fetch: Fetch, jp_root_dir: Path, share_service: RunningService
) -> None:
    """One walk through the API (share, list, preview, import, revoke, and the rest);
    each answer, success or error, is what server.json says for its status."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(jp_root_dir / "x.ipynb"))
    steps: list[tuple[str, tuple[str, ...], Any, int, str]] = [
        ("GET", ("info",), None, 200, "Info"),
        ("GET", ("resources",), None, 200, "Resources"),
        ("GET", ("workers",), None, 200, "Workers"),
        ("POST", ("shares",), {"path": "x.ipynb", "expires_in": 600}, 201, "Share"),
        ("GET", ("shares",), None, 200, "ShareList"),
        ("POST", ("shares",), {"path": "missing.ipynb"}, 404, "Error"),
        ("POST", ("shares",), {"path": "x.ipynb", "expires_in": 0}, 400, "Error"),
        ("DELETE", ("workers", "abc"), None, 400, "Error"),
        ("DELETE", ("workers", "12345"), None, 404, "Error"),
        ("DELETE", ("shares", "ffff"), None, 404, "Error"),
        ("POST", ("imports", "preview"), {"link": "not a link"}, 400, "Error"),
    ]
    made: dict[str, Any] = {}
    for method, parts, body, status, schema in steps:
        code, data = await answer(jp_fetch, method, *parts, body=body)
        assert code == status, (method, parts, data)
        assert_matches(schema, data)
        if schema == "Share":
            made = data
    for parts, status, schema in [
        (("imports", "preview"), 200, "ImportPreview"),
        (("imports",), 201, "ImportResult"),
        (("imports",), 200, "ImportResult"),
    ]:
        code, data = await answer(jp_fetch, "POST", *parts, body={"link": made["url"]})
        assert code == status, data
        assert_matches(schema, data)
    code, data = await answer(jp_fetch, "DELETE", "shares", made["id"])
    assert code == 204 and data is None
    code, data = await answer(jp_fetch, "POST", "imports", body={"link": made["url"]})
    assert code == 410
    assert_matches("Error", data)
