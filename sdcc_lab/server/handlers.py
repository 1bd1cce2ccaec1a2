"""REST handlers of the server extension.

Every handler is authenticated (``@web.authenticated``) and authorized
(``@authorized`` against the ``sdcc_lab`` resource); jupyter_server's
``APIHandler`` enforces XSRF for cookie-authenticated requests and writes
errors as JSON ``{"message": ...}``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .. import __version__

API_PREFIX = "sdcc-lab/api"


class SDCCAPIHandler(APIHandler):
    """Base of sdcc_lab's handlers: one authorization resource for all."""

    auth_resource = "sdcc_lab"

    @property
    def session_identity(self) -> dict[str, Any]:
        return self.settings["sdcc_lab_session"]


class InfoHandler(SDCCAPIHandler):
    """``GET sdcc-lab/api/info``: the version, the user and this session's identity."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.current_user
        self.finish(
            {
                "version": __version__,
                "user": getattr(user, "username", None) or getattr(user, "name", None),
                "session": self.session_identity,
            }
        )


def default_handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    return [(url_path_join(base_url, API_PREFIX, "info"), InfoHandler)]
