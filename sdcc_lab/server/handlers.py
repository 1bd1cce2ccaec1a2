"""REST handlers of the server extension.

Every handler is authenticated (``@web.authenticated``) and authorized
(``@authorized`` against the ``sdcc_lab`` resource); jupyter_server's
``APIHandler`` enforces XSRF for cookie-authenticated requests and writes
errors as JSON ``{"message": ...}``.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from .. import __version__, openapi
from ..session import SETTINGS_KEY, Session

API_PREFIX = "sdcc-lab/api"


class SDCCAPIHandler(APIHandler):
    """Base of sdcc_lab's handlers: one authorization resource for all."""

    auth_resource = "sdcc_lab"

    @property
    def sdcc_session(self) -> Session:
        """The server's one Session, resolved when the extension loaded."""
        session: Session = self.settings[SETTINGS_KEY]
        return session


class InfoHandler(SDCCAPIHandler):
    """``GET sdcc-lab/api/info``: the version, the user and this server's session."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        user = self.current_user
        self.finish(
            {
                "version": __version__,
                "user": getattr(user, "username", None) or getattr(user, "name", None),
                "session": self.sdcc_session.to_json(),
            }
        )


class OpenAPIHandler(SDCCAPIHandler):
    """``GET sdcc-lab/api/openapi.json``: the OpenAPI description of this API.

    Authenticated like every endpoint here: it says nothing secret, but a
    server that answers nobody anonymously keeps it that way.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(openapi.load("server"))


def default_handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    return [
        (url_path_join(base_url, API_PREFIX, "info"), InfoHandler),
        (url_path_join(base_url, API_PREFIX, r"openapi\.json"), OpenAPIHandler),
    ]
