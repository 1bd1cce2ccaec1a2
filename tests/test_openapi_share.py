"""The share service's OpenAPI description (``sdcc_lab/openapi/share.json``): a valid
OpenAPI document, and it names exactly the routes and methods the service registers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from tornado import web

from sdcc_lab import openapi
from sdcc_lab.share.handlers import handlers

PREFIX = "/services/share/"
METHODS = ("get", "post", "put", "delete", "patch", "head", "options")
# Each capture group of a route, in the description's words (in order of appearance).
GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")


def route_paths() -> dict[str, type[web.RequestHandler]]:
    """The service's routes as description paths: ``api/shares/([0-9a-f]{1,32})`` → ``/api/shares/{}``."""
    routes: dict[str, type[web.RequestHandler]] = {}
    for pattern, handler in handlers(PREFIX):
        assert pattern.startswith(PREFIX.rstrip("/")), pattern
        path = "/" + pattern[len(PREFIX) :] if pattern.startswith(PREFIX) else "/"
        path = GROUP.sub("{}", path)
        if path.endswith("/?"):  # an optional trailing slash: the same operation
            path = path[:-2] or "/"
        routes[path] = handler
    return routes


def described_paths(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {re.sub(r"\{[^}]+\}", "{}", p): item for p, item in document["paths"].items()}


def implemented_methods(handler: type[web.RequestHandler]) -> set[str]:
    """The methods the handler answers itself (not tornado's default 405)."""
    return {
        m for m in METHODS if getattr(handler, m, None) is not getattr(web.RequestHandler, m, None)
    }


def test_the_description_is_valid_openapi() -> None:
    document = openapi.load("share")
    validate(document)
    assert document["openapi"].startswith("3.")


def test_every_route_is_described_and_every_description_path_is_a_route() -> None:
    routes = route_paths()
    described = described_paths(openapi.load("share"))
    assert set(routes) - set(described) == set(), "routes without a description"
    assert set(described) - set(routes) == set(), "described paths the service does not have"


def test_each_route_describes_exactly_the_methods_its_handler_answers() -> None:
    described = described_paths(openapi.load("share"))
    for path, handler in route_paths().items():
        documented = {m for m in described[path] if m in METHODS}
        assert documented == implemented_methods(handler), (path, handler.__name__)


def test_every_operation_documents_its_errors_in_the_services_shapes() -> None:
    """API errors are ``{"message"}``, pages HTML, ``POST open`` ``{"message", "title"}``."""
    document = openapi.load("share")
    shapes = {"#/components/schemas/Error", "#/components/schemas/OpenError"}
    for path, item in document["paths"].items():
        for method in (m for m in item if m in METHODS):
            responses = item[method]["responses"]
            if path in ("/api/openapi.json", "/oauth_callback"):
                continue  # no error of ours: a static document; JupyterHub's own handler
            # 431 is the hub's proxy's (no body), documented once in components/responses.
            errors = {c: r for c, r in responses.items() if int(c) >= 400 and c != "431"}
            assert responses["431"] == {"$ref": "#/components/responses/ProxyHeadersTooLarge"}
            assert errors, (path, method)
            for code, response in errors.items():
                (media, body), *_ = response["content"].items()
                if media == "text/html":
                    assert body["schema"] == {"$ref": "#/components/schemas/ErrorPage"}
                else:
                    assert media == "application/json" and body["schema"]["$ref"] in shapes, (
                        path,
                        method,
                        code,
                    )


@pytest.mark.parametrize("operation", ["createShare", "putSnapshot"])
def test_uploads_are_described_as_streamed_notebooks(operation: str) -> None:
    document = openapi.load("share")
    (op,) = [
        o
        for item in document["paths"].values()
        for o in item.values()
        if isinstance(o, dict) and o.get("operationId") == operation
    ]
    assert set(op["requestBody"]["content"]) == {"application/x-ipynb+json"}
    assert {"400", "403", "413", "429"} <= set(op["responses"])
