"""HTTP handlers of the share service.

Two kinds of callers, two layers of authentication (both through the hub):

- **Browsers** open links and manage their links on pages under the service's
  prefix. They log in with the hub's OAuth (``HubOAuth``: a cookie of the
  service's own); the page's forms carry the service's ``_xsrf``.
- **Single-user servers** call ``api/…`` with their ``JUPYTERHUB_API_TOKEN``
  (``Authorization: token …``). The hub says whose token it is, so a server
  acts only for its own user. API handlers refuse cookie authentication, so a
  browser can never be tricked into calling them.

Notebook bodies stream to and from disk: nothing holds a whole notebook in memory.
"""

from __future__ import annotations

from tornado import web

from .api import (
    AccessAPI,
    FetchAPI,
    InboxAPI,
    NotFound,
    OpenAPIDescription,
    PeekAPI,
    RenameAPI,
    ShareAPI,
    SharesAPI,
    SnapshotAPI,
)
from .people import PeopleAPI
from .preview import PreviewPage
from .web import LinkPage, OAuthCallback, RevokeForm, SharesPage

__all__ = ["NotFound", "handlers"]


def handlers(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    token = r"([^/]+)"
    return [
        (prefix + "oauth_callback", OAuthCallback),
        (prefix + "api/openapi.json", OpenAPIDescription),
        (prefix + "api/shares", SharesAPI),
        (prefix + "api/inbox", InboxAPI),
        (prefix + r"api/shares/([0-9a-f]{1,32})", ShareAPI),
        (prefix + r"api/shares/([0-9a-f]{1,32})/access", AccessAPI),
        (prefix + "api/snapshots", SnapshotAPI),
        (prefix + "api/renames", RenameAPI),
        (prefix + "api/peek", PeekAPI),
        (prefix + "api/fetch", FetchAPI),
        (prefix + "api/people", PeopleAPI),
        (prefix + "open/?", LinkPage),  # the link: open#TOKEN (the fragment never reaches us)
        (prefix + "open/" + token, LinkPage),  # links of old: the same page
        (prefix + r"preview/([0-9a-f]{1,32})", PreviewPage),  # framed by the link page
        (prefix + r"shares/([0-9a-f]{1,32})/revoke", RevokeForm),
        (prefix.rstrip("/") + "/?", SharesPage),
    ]
