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

from .. import __version__
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


def default_handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    return [(url_path_join(base_url, API_PREFIX, "info"), InfoHandler)]
