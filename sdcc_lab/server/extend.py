"""``sdcc-lab/api/extend``: more time for this session, asked of the hub.

- ``GET  sdcc-lab/api/extend`` -> what the hub's policy still allows this
  session: ``{"available", "reason", "max_minutes", "minutes", "extensions_left"}``
- ``POST sdcc-lab/api/extend`` ``{"minutes": int}`` -> ``200 {"end": ISO-8601,
  "limit_seconds": int, "extensions_left": int}``; the hub's refusal (403 beyond
  its policy, 409 when the session cannot be extended) with its message.

The server changes nothing itself: it asks the hub (``POST
{JUPYTERHUB_API_URL}/sdcc-lab/extend``) with its own API token, so the hub
knows whose session it is, checks its policy and the user's entitlements and
updates the job with its own privileges. After an extension the resources
collector asks the scheduler again at once, so ``GET resources`` (the panel's
countdown and the warnings) shows the new end on its next poll.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Float, Unicode, default
from traitlets.config import Configurable

from ..jsonbody import json_object
from ..resources.collector import ResourcesCollector
from .handlers import API_PREFIX, SDCCAPIHandler

LOCAL_REASON = "A local session has no end time to extend."


class HubExtendClient(Configurable):
    """Where this server asks the hub for more time (``c.HubExtendClient.…``)."""

    api_url = Unicode(
        help="""The hub's API URL as this server reaches it (default ``$JUPYTERHUB_API_URL``,
        which the hub gives every server). Example::

            c.HubExtendClient.api_url = "http://hub.example.org:8081/hub/api"
        """,
    ).tag(config=True)

    @default("api_url")
    def _default_api_url(self) -> str:
        return os.environ.get("JUPYTERHUB_API_URL", "")

    api_token = Unicode(
        help="""Token this server authenticates with (default ``$JUPYTERHUB_API_TOKEN``, the
        server's own, which is how the hub knows whose session it is). Example::

            c.HubExtendClient.api_token = os.environ["JUPYTERHUB_API_TOKEN"]
        """,
    ).tag(config=True)

    @default("api_token")
    def _default_api_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    request_timeout = Float(
        60,
        help="""Seconds an extension may take at the hub (it runs scheduler commands).
        Example::

            c.HubExtendClient.request_timeout = 120
        """,
    ).tag(config=True)

    async def call(self, method: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The hub's JSON answer; its refusal as an ``HTTPError`` with its status and message."""
        if not self.api_url or not self.api_token:
            raise web.HTTPError(503, "this server was not started by a hub: no one to ask")
        request = HTTPRequest(
            self.api_url.rstrip("/") + "/sdcc-lab/extend",
            method=method,
            headers={
                "Authorization": f"token {self.api_token}",
                "Content-Type": "application/json",
            },
            body=json.dumps(body) if body is not None else None,
            request_timeout=self.request_timeout,
            connect_timeout=min(10.0, self.request_timeout),
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as e:
            message = f"the hub answered {e.code}"
            if e.response is not None:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    message = str(json.loads(e.response.body)["message"])
            # The hub's refusals are the user's answer; its failures are a 503 here.
            raise web.HTTPError(e.code if e.code in (400, 403, 409) else 503, message) from None
        except OSError as e:
            raise web.HTTPError(503, f"the hub did not answer: {e}") from None
        try:
            answer = json.loads(response.body)
        except ValueError:
            raise web.HTTPError(503, "the hub's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise web.HTTPError(503, "the hub's answer is not a JSON object")
        return answer


class ExtendHandler(SDCCAPIHandler):
    """More time for the session, within the hub's policy."""

    @property
    def client(self) -> HubExtendClient:
        client: HubExtendClient = self.settings["sdcc_lab_extend"]
        return client

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        if self.sdcc_session.scheduler == "local":
            self.finish(
                {
                    "available": False,
                    "reason": LOCAL_REASON,
                    "max_minutes": 0,
                    "minutes": [],
                    "extensions_left": 0,
                }
            )
            return
        self.finish(await self.client.call("GET"))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = json_object(self.request.body)
        minutes = body.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise web.HTTPError(400, "minutes must be a whole number")
        if minutes < 1:
            raise web.HTTPError(400, "minutes must be at least 1")
        if self.sdcc_session.scheduler == "local":
            raise web.HTTPError(409, LOCAL_REASON)
        answer = await self.client.call("POST", {"minutes": minutes})
        collector: ResourcesCollector | None = self.settings.get("sdcc_lab_resources")
        if collector is not None:
            limit = answer.get("limit_seconds")
            try:
                await collector.refresh(limit if isinstance(limit, int) else None)
            except Exception as e:  # noqa: BLE001 - the job was extended; the panel re-polls
                collector.log_once(f"sdcc_lab extend: re-reading the limits failed: {e!r}")
        self.set_header("Cache-Control", "no-store")
        self.finish(answer)


def extend_handlers(base_url: str) -> list[tuple[str, type[SDCCAPIHandler]]]:
    return [(url_path_join(base_url, API_PREFIX, "extend"), ExtendHandler)]


def setup_extend(server_app: Any) -> HubExtendClient:
    return HubExtendClient(parent=server_app)
