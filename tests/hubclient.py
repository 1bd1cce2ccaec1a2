"""A small HTTP client that uses a portal the way a browser does.

It logs in through the hub's login form, starts the user's server through the
hub's REST API (cookie + XSRF, as the hub's own pages do), follows the OAuth
redirects to the user's JupyterLab and calls the user's server with the
``_xsrf`` cookie of that server, as JupyterLab's ``ServerConnection`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

# The login password of each portal the tests started, by URL (conftest's _start_portal
# fills it from the demo's data folder), so that HubClient(portal.url, name) logs in.
PORTAL_PASSWORDS: dict[str, str] = {}


class HubClient:
    def __init__(self, url: str, username: str, password: str | None = None) -> None:
        self.url = url.rstrip("/") + "/"
        self.username = username
        self.password = PORTAL_PASSWORDS.get(self.url, "") if password is None else password
        self.session = requests.Session()

    # --- cookies -------------------------------------------------------------
    def xsrf(self, path: str) -> str:
        """The ``_xsrf`` cookie set for ``path`` (``/hub/`` or ``/user/NAME/``)."""
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path == path:
                return str(cookie.value)
        raise LookupError(f"no _xsrf cookie for {path}")

    # --- hub -----------------------------------------------------------------
    def login(self) -> requests.Response:
        self.session.get(self.url + "hub/login").raise_for_status()
        r = self.session.post(
            self.url + "hub/login",
            data={
                "username": self.username,
                "password": self.password,
                "_xsrf": self.xsrf("/hub/"),
            },
        )
        r.raise_for_status()
        if not any(c.name.startswith("jupyterhub-session-id") for c in self.session.cookies):
            raise AssertionError(f"login as {self.username} did not give a hub session")
        return r

    def hub_api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers["X-XSRFToken"] = self.xsrf("/hub/")
        return self.session.request(
            method, self.url + "hub/api/" + path.lstrip("/"), headers=headers, **kwargs
        )

    def start_server(self, timeout: float = 120, **user_options: Any) -> dict[str, Any]:
        r = self.hub_api("POST", f"users/{self.username}/server", json=user_options)
        if r.status_code not in (201, 202, 400):
            r.raise_for_status()
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{self.username}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return server
            if (
                server is None
                and model.get("pending") is None
                and time.monotonic() > deadline - timeout + 5
            ):
                raise AssertionError(
                    f"{self.username}'s server is neither pending nor ready: {model}"
                )
            time.sleep(0.5)
        raise AssertionError(f"{self.username}'s server was not ready within {timeout} s")

    def stop_server(self) -> None:
        r = self.hub_api("DELETE", f"users/{self.username}/server")
        assert r.status_code in (202, 204), r.text

    # --- the user's server -----------------------------------------------------
    def server_prefix(self, owner: str | None = None) -> str:
        return f"/user/{owner or self.username}/"

    def open_lab(self, owner: str | None = None) -> requests.Response:
        """GET the JupyterLab page, going through the hub's OAuth like a browser."""
        return self.session.get(self.url.rstrip("/") + self.server_prefix(owner) + "lab")

    def server_api(
        self, method: str, path: str, owner: str | None = None, **kwargs: Any
    ) -> requests.Response:
        prefix = self.server_prefix(owner)
        headers = kwargs.pop("headers", {})
        with contextlib.suppress(LookupError):  # never visited that server: no cookie to send
            headers["X-XSRFToken"] = self.xsrf(prefix)
        return self.session.request(
            method,
            self.url.rstrip("/") + prefix + path.lstrip("/"),
            headers=headers,
            allow_redirects=False,
            **kwargs,
        )


def run_code(client: HubClient, code: str, timeout: float = 60) -> str:
    """Start a kernel on the user's server, run ``code`` over its websocket as
    JupyterLab does, and return the ``text/plain`` of its result."""
    client.open_lab()
    r = client.server_api("POST", "api/kernels", json={"name": "python3"})
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in client.session.cookies)}
    if isinstance(client.session.auth, tuple):  # through a front proxy's Basic login
        headers["Authorization"] = requests.auth._basic_auth_str(*client.session.auth)
    ws_url = (
        client.url.replace("http://", "ws://", 1).rstrip("/")
        + client.server_prefix()
        + f"api/kernels/{kernel}/channels"
    )

    async def talk() -> str:
        conn = await websocket_connect(HTTPRequest(ws_url, headers=headers))
        msg_id = uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": client.username,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": False,
                        "user_expressions": {},
                        "allow_stdin": False,
                    },
                }
            )
        )
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                raw = await asyncio.wait_for(conn.read_message(), timeout)
                assert raw is not None, "the kernel's websocket closed"
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "execute_result":
                    return str(msg["content"]["data"]["text/plain"])
                if msg["msg_type"] == "error":
                    raise AssertionError(msg["content"])
            raise AssertionError("no result from the kernel")
        finally:
            conn.close()

    try:
        return asyncio.run(talk())
    finally:
        client.server_api("DELETE", f"api/kernels/{kernel}")


def page_config(html: str) -> dict[str, Any]:
    """The ``jupyter-config-data`` JSON that a JupyterLab page carries."""
    match = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S
    )
    if not match:
        raise AssertionError("not a JupyterLab page: no jupyter-config-data")
    return json.loads(match.group(1))


# --- share links (additive) ---------------------------------------------------------------
SHARE_PREFIX = "/services/share/"


def notebook_json(*sources: str, kernel: str = "python3") -> dict[str, Any]:
    """A version 4 notebook with one code cell per source."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"c{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(sources)
        ],
        "metadata": {
            "kernelspec": {
                "name": kernel,
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def save_notebook(client: HubClient, path: str, *sources: str) -> None:
    """Save through the Contents API, as JupyterLab does (post-save hooks run)."""
    r = client.server_api(
        "PUT",
        "api/contents/" + path,
        json={"type": "notebook", "format": "json", "content": notebook_json(*sources)},
    )
    assert r.status_code in (200, 201), r.text


def cell_sources(client: HubClient, path: str) -> list[str]:
    r = client.server_api("GET", "api/contents/" + path)
    assert r.status_code == 200, r.text
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in r.json()["content"]["cells"]
    ]
