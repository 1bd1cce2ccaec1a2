"""``POST /hub/api/sdcc-lab/port``: a batch job's server tells the hub its port.

The request carries the server's own API token and ``{"port": <int>}`` and
nothing else: any other key, a non-integer or an out-of-range port is refused
(400), and the port goes only to the spawner whose token it is, and only
while that spawner waits for it. Nothing a job sends can change what the hub
executes: no attribute is set from the request but the port number.
"""

from __future__ import annotations

import hmac
from typing import Any

from jupyterhub import apihandlers
from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from .apidoc import OPENAPI_PATH, HubOpenAPIHandler
from .batch import BatchSessionSpawner
from .ends import SESSION_END_HANDLERS
from .estimateapi import ESTIMATE_PATH, EstimateHandler
from .extend import EXTEND_PATH, ExtendHandler
from .pending import PENDING_HANDLERS
from .presets import PRESET_PATH, PRESETS_PATH, PresetHandler, PresetsHandler

PORT_REPORT_PATH = r"/api/sdcc-lab/port"


def batch_spawner_of(spawner: Any) -> BatchSessionSpawner | None:
    """The batch spawner behind a user's spawner (itself, or a form spawner's child)."""
    if isinstance(spawner, BatchSessionSpawner):
        return spawner
    child = getattr(spawner, "child_spawner", None)
    return child if isinstance(child, BatchSessionSpawner) else None


class PortReportHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    async def post(self) -> None:
        user = self.current_user
        token = self.get_auth_token()
        if user is None or not token or getattr(user, "kind", "user") != "user":
            raise web.HTTPError(403, "a server's API token is required")
        body = self.get_json_body()
        if not isinstance(body, dict) or set(body) != {"port"}:
            raise web.HTTPError(400, 'only {"port": <integer>} is accepted')
        port = body["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise web.HTTPError(400, "port must be an integer between 1 and 65535")
        for spawner in user.spawners.values():
            batch = batch_spawner_of(spawner)
            api_token = batch.api_token if batch is not None else ""
            if batch is not None and api_token and hmac.compare_digest(api_token, token):
                if not batch.accept_port(port):
                    raise web.HTTPError(409, "this session is not waiting for a port")
                self.log.info("%s's job reported port %d", user.name, port)
                self.set_status(204)
                self.finish()
                return
        raise web.HTTPError(403, "this token belongs to no starting batch session")


#: Every handler sdcc_lab adds to the hub's API (``sdcc_lab/openapi/hub.json`` describes them).
HUB_API_HANDLERS: list[tuple[str, type[APIHandler]]] = [
    (PORT_REPORT_PATH, PortReportHandler),
    (OPENAPI_PATH, HubOpenAPIHandler),
    *PENDING_HANDLERS,
    (ESTIMATE_PATH, EstimateHandler),
    (PRESETS_PATH, PresetsHandler),
    (PRESET_PATH, PresetHandler),
    (EXTEND_PATH, ExtendHandler),
    *SESSION_END_HANDLERS,
]


def register() -> None:
    """Add the handlers to JupyterHub's API (once), before the hub builds its app."""
    for path, handler in HUB_API_HANDLERS:
        if not any(h[0] == path for h in apihandlers.default_handlers):
            apihandlers.default_handlers.append((path, handler))
