"""The share service's pages, for browsers logged in with the hub's OAuth.

GET pages change nothing; the one form (Revoke) posts with the service's
``_xsrf``, and ``next`` parameters must stay on the hub.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web

from . import pages
from .base import ShareBase

_NEXT_BAD = re.compile(r"[\\\x00-\x1f\x7f]")


def safe_next(value: str, allowed_prefix: str) -> str | None:
    """``value`` if it is a path on this site below ``allowed_prefix``; None otherwise."""
    if not value or _NEXT_BAD.search(value) or value.startswith("//"):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(allowed_prefix):
        return None
    if any(seg in (".", "..") for seg in parts.path.split("/")):
        return None
    return value


class PageBase(ShareBase):
    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        titles = {403: "This link cannot be opened", 410: "This link no longer works",
                  400: "Bad request", 404: "Not found"}
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(pages.problem_page(titles.get(status_code, "Error"), message,
                                       self.settings["hub_prefix"] + "home"))


class LinkPage(PageBase):
    """``GET open/{token}[?next=…]``: who shared what, until when, for which environment.
    No state changes: the import happens in the recipient's JupyterLab, after they confirm."""

    @web.authenticated
    async def get(self, token: str) -> None:
        redirect_prefix = self.settings["hub_prefix"] + "user-redirect/"
        next_arg = self.get_argument("next", "")
        target = safe_next(next_arg, redirect_prefix) if next_arg else redirect_prefix + "lab"
        if target is None:
            raise web.HTTPError(400, f"'next' must be a path below {redirect_prefix} on this hub")
        _, share = self.open_share(token)
        sep = "&" if "?" in target else "?"
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(pages.link_page(share, f"{target}{sep}{urlencode({'sdcc-share': token})}"))


class SharesPage(PageBase):
    """``GET``: the user's live links (every link for an admin), each with a Revoke form."""

    @web.authenticated
    async def get(self) -> None:
        admin = self.is_admin()
        shares = self.store.list(None if admin else self.user_name)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(pages.shares_page(shares, self.xsrf_token.decode(), self.prefix, admin))


class RevokeForm(PageBase):
    """``POST shares/{id}/revoke`` (form with ``_xsrf``; ``next`` below the service's prefix)."""

    @web.authenticated
    async def post(self, share_id: str) -> None:
        self.hub_auth.check_xsrf_cookie(self)
        share = self.store.get(share_id)
        if share is None:
            raise web.HTTPError(404, "no such share")
        if share.owner != self.user_name and not self.is_admin():
            raise web.HTTPError(403, "only its owner or an admin may revoke a share")
        next_arg = self.get_argument("next", "") or self.prefix
        target = safe_next(next_arg, self.prefix)
        if target is None:
            raise web.HTTPError(400, "'next' must be a page of the share service")
        self.store.revoke(share_id)
        self.redirect(target, status=303)


class OAuthCallback(HubOAuthCallbackHandler):
    """The hub's OAuth callback, with the service's own ``HubOAuth``."""

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]
