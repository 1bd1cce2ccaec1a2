"""``GET /hub/api/sdcc-lab/openapi.json``: the OpenAPI description of the hub's additions.

Served to any authenticated caller (a token, or the login cookie with
``X-XSRFToken``, as every JupyterHub API request), with ``servers`` set to this
hub's API URL so that a client (or a fuzzer) can use it as it is.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.utils import url_path_join
from tornado import web

from ..openapi import load

OPENAPI_PATH = r"/api/sdcc-lab/openapi.json"


class HubOpenAPIHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    async def get(self) -> None:
        if self.current_user is None:
            raise web.HTTPError(403, "authentication is required")
        document = load("hub")
        document["servers"] = [{"url": url_path_join(self.hub.base_url, "api")}]
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(document))
