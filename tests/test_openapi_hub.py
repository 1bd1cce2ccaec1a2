"""The hub's additions (``/hub/api/sdcc-lab/…``) and their OpenAPI description agree.

The routes ``sdcc_lab.hub`` adds to JupyterHub's API, with the methods their
handlers implement, are exactly the operations of ``sdcc_lab/openapi/hub.json``;
the hub serves that description at ``GET /hub/api/sdcc-lab/openapi.json``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Portal
from hubclient import HubClient
from jupyterhub import apihandlers, handlers
from tornado.web import RequestHandler

import sdcc_lab.hub  # noqa: F401  (registers the handlers, as a site's config does)
from sdcc_lab.hub.headerauth import HeaderAuthenticator
from sdcc_lab.openapi import NAMES, load

METHODS = ("get", "post", "put", "patch", "delete")


def implemented(handler: type[RequestHandler]) -> set[str]:
    """The HTTP methods a handler class answers (those it overrides)."""
    return {m for m in METHODS if getattr(handler, m) is not getattr(RequestHandler, m)}


def described_operations(document: dict[str, Any], strip: str) -> set[tuple[str, str]]:
    """``(route, method)`` of every operation, the route as the hub registers it."""
    base = document["servers"][0]["url"].removeprefix(strip)
    return {
        # A path parameter is a route's ([^/]+) group.
        (base + re.sub(r"\{[^}]+\}", "([^/]+)", path), method)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_hub_routes_are_the_described_operations() -> None:
    registered = {
        (route, method)
        for route, handler in apihandlers.default_handlers
        if handler.__module__.startswith("sdcc_lab.")
        for method in implemented(handler)
    }
    described = described_operations(load("hub"), strip="/hub")
    assert registered, "sdcc_lab.hub registered no API handler"
    assert registered == described, (
        f"registered only: {sorted(registered - described)}; "
        f"described only: {sorted(described - registered)}"
    )


def test_the_header_authenticator_adds_no_route_of_its_own(tmp_path: Path) -> None:
    """Its handlers replace JupyterHub's own pages (so hub.json need not describe them)."""
    secret = tmp_path / "secret"
    secret.write_text("s" * 32)
    secret.chmod(0o600)
    extra = HeaderAuthenticator(secret_file=str(secret)).get_handlers(None)
    own = {route for route, *_ in handlers.default_handlers}
    assert extra
    assert {route for route, _ in extra} <= own


@pytest.mark.parametrize("name", NAMES)
def test_each_description_is_openapi_3_with_the_error_shape(name: str) -> None:
    document = load(name)
    assert re.fullmatch(r"3\.(0|1)\.\d+", document["openapi"])
    assert "message" in document["components"]["schemas"]["Error"]["properties"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            assert operation["responses"], f"{method.upper()} {path} documents no status"


def test_a_bad_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a description name"):
        load("../hub")
    with pytest.raises(FileNotFoundError):
        load("nosuch")


@pytest.mark.hub
def test_the_hub_serves_its_description(demo_portal: Portal) -> None:
    url = demo_portal.url + "hub/api/sdcc-lab/openapi.json"
    alice = HubClient(demo_portal.url, "alice")
    alice.login()
    token = alice.hub_api("POST", "users/alice/tokens", json={"note": "openapi"}).json()["token"]

    r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    served = r.json()
    assert served["servers"] == [{"url": "/hub/api"}]
    assert served == load("hub")

    # The browser's way: the login cookie with X-XSRFToken.
    script = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
    assert alice.hub_api("GET", "sdcc-lab/openapi.json", headers=dict(script)).json() == served

    # Without authentication, or a script's read with the cookie but without
    # X-XSRFToken (what another site's script could send): JupyterHub's error shape.
    for response in (
        requests.get(url, timeout=30),
        alice.session.get(url, headers={**script, "Sec-Fetch-Site": "cross-site"}),
        alice.session.get(url, headers=script),
    ):
        assert response.status_code == 403
        assert set(response.json()) == {"status", "message"}
