"""An in-process share service for tests of the server extension.

The service app is the real one (``sdcc_lab.share``: handlers, store, signer);
only the hub's answer to "whose token is this?" is replaced by a table, since
these tests run without a hub. The real-hub tests (``test_share_hub.py``) use
the real ``HubOAuth``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tornado.httpserver import HTTPServer

from sdcc_lab.netutil import free_port
from sdcc_lab.share.app import ShareService
from sdcc_lab.share.store import ShareStore

PREFIX = "/services/share/"


class TokenTableAuth:
    """Stands in for ``HubOAuth``: tokens map to users; ``admin`` is an admin."""

    access_scopes: frozenset[str] = frozenset()
    login_url = ""
    base_url = PREFIX

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def get_token(self, handler: Any, in_cookie: bool = True) -> str:
        return str(handler.request.headers.get("Authorization", "")).removeprefix("token ").strip()

    async def user_for_token(
        self, token: str, *args: Any, sync: bool = True, **kwargs: Any
    ) -> dict[str, Any] | None:
        name = self.tokens.get(token)
        if name is None:
            return None
        return {"name": name, "kind": "user", "admin": name == "admin", "scopes": []}

    async def get_user(self, handler: Any, sync: bool = False) -> dict[str, Any] | None:
        return await self.user_for_token(self.get_token(handler))

    def check_xsrf_cookie(self, handler: Any) -> None:
        return None


class MovableClock:
    """The service's clock in tests: it starts at the real time and moves only when told,
    so a link expires the moment a test says, without waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class RunningService:
    url: str
    service: ShareService
    server: HTTPServer
    tokens: dict[str, str]
    store: ShareStore

    def api(self, path: str) -> str:
        return self.url + "api/" + path


def start_service(data_dir: Path, keys: list[str] | None = None, **traits: Any) -> RunningService:
    tokens = {"alice-token": "alice", "bob-token": "bob", "admin-token": "admin"}
    service = ShareService(keys=keys or ["test-key-1"], data_dir=str(data_dir), **traits)
    app = service.make_app(hub_auth=TokenTableAuth(tokens))
    port = free_port()
    server = HTTPServer(app)
    server.listen(port, "127.0.0.1")
    return RunningService(
        f"http://127.0.0.1:{port}{PREFIX}", service, server, tokens, app.settings["share_store"]
    )


def server_config(
    service: RunningService,
    tmp_path: Path,
    *,
    token: str = "alice-token",
    max_notebook_size: int | None = None,
    scheduler_free: bool = False,
) -> dict[str, Any]:
    """``jp_server_config`` of a pytest-jupyter server whose extension talks to ``service``.

    ``scheduler_free``: the resources collector's ``scontrol`` always fails, so no
    test server asks the real cluster.
    """
    client: dict[str, Any] = {
        "service_url": service.url,
        "api_token": token,
        "record_file": str(tmp_path / "imports.json"),
    }
    if max_notebook_size is not None:
        client["max_notebook_size"] = max_notebook_size
    config: dict[str, Any] = {
        "ServerApp": {"jpserver_extensions": {"sdcc_lab": True}},
        "ShareClient": client,
    }
    if scheduler_free:
        config["ResourcesCollector"] = {"scontrol_command": ["/bin/false"]}
    return config
