"""The share service's pages, for browsers logged in with the hub's OAuth.

GET pages change nothing; the one form (Revoke) posts with the service's
``_xsrf``, and ``next`` parameters must stay on the hub.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import unquote

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web

from ..jsonbody import json_object
from ..names import visible_text
from ..nbstream import human_size
from . import pages
from .audience import check_admitted
from .base import ShareBase, iso
from .store import Access, ShareInfo

# What a ``next`` may hold, before decoding: printable ASCII without ``;`` (path
# parameters some proxies strip), ``\\`` (a slash to browsers), ``#`` (the Continue
# link's fragment is ours) or white space and controls (browsers drop tabs and
# newlines from URLs, so ".\t." would become "..").
_NEXT_CHARS = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,=:@/%?]+$")
# Encodings a browser, a proxy or a second decode would turn into path syntax:
# ".", "/", "\\", "%" (double encoding), ";", "?", "#", controls. Refused outright.
_NEXT_ENCODED = re.compile(r"%(2[eEfF35]|5[cC]|3[bBfF]|[01][0-9a-fA-F]|7[fF])")
_NEXT_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")


def safe_next(value: str, allowed_prefix: str) -> str | None:
    """``value`` if it is a path on this site below ``allowed_prefix``; None otherwise.

    The check is made on what a browser and the proxies in front of the hub
    would resolve, not on the text: ``value`` must be plain printable ASCII,
    hold no encoded dot, slash, backslash, percent, semicolon or control
    character (so one decode is final and a browser's dot-segment resolution
    cannot apply), and its decoded path must start with ``allowed_prefix`` and
    have no empty, ``.`` or ``..`` segment. When in doubt, it is refused.
    """
    if not allowed_prefix.startswith("/") or allowed_prefix.startswith("//"):
        raise ValueError(f"allowed_prefix must be an absolute path: {allowed_prefix!r}")
    if not value or len(value) > 2048 or not _NEXT_CHARS.match(value):
        return None
    if _NEXT_ENCODED.search(value) or _NEXT_PERCENT.search(value):
        return None
    path, _, _query = value.partition("?")
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in decoded):
        return None
    if not decoded.startswith(allowed_prefix) or not path.startswith(allowed_prefix):
        return None
    segments = decoded.split("/")[1:]
    if segments and segments[-1] == "":
        segments.pop()  # a trailing slash
    if any(seg in ("", ".", "..") for seg in segments):
        return None
    return value


_TITLES = {
    403: "This link cannot be opened",
    410: "This link no longer works",
    400: "Bad request",
    404: "Not found",
}


class PageBase(ShareBase):
    def finish_error(self, status_code: int, message: str) -> None:
        """A page a browser shows: the same message, in HTML."""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            pages.problem_page(
                _TITLES.get(status_code, "Error"), message, self.settings["hub_prefix"] + "home"
            )
        )


class LinkPage(PageBase):
    """A share link: ``open#TOKEN`` (``open/TOKEN`` of old links still opens).

    The token is in the URL's fragment, which browsers never send: no server,
    proxy or access log sees it. ``GET open[?next=…]`` is a static page; its
    script reads the fragment and ``POST``s it (JSON, with the service's
    ``_xsrf``) to learn who shared what, until when and for which environment,
    then offers *Continue* to ``/hub/user-redirect/lab#sdcc-share=TOKEN`` (``lab``:
    the site's ``c.ShareService.continue_url``; a ``next`` below ``/hub/user-redirect/``
    wins). A
    visitor not yet logged in is sent through the hub's login by the script,
    which keeps the token in the tab's ``sessionStorage`` meanwhile (the hub's
    login form would drop a fragment). No state changes here: the import happens
    in the recipient's JupyterLab, after they confirm.
    """

    def continue_target(self, next_arg: str) -> str:
        redirect_prefix = str(self.settings["hub_prefix"]) + "user-redirect/"
        if not next_arg:  # the site's default interface (checked when the service started)
            return redirect_prefix + self.service.continue_url
        target = safe_next(next_arg, redirect_prefix)
        if target is None:
            raise web.HTTPError(400, f"'next' must be a path below {redirect_prefix} on this hub")
        return target

    def finish_error(self, status_code: int, message: str) -> None:
        """The page's script (POST) reads ``{"message", "title"}``; a GET shows the page."""
        if self.request.method != "POST":
            return super().finish_error(status_code, message)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message, "title": _TITLES.get(status_code, "Error")}))

    async def get(self, legacy_token: str | None = None) -> None:
        # ``open/TOKEN`` (links made before the fragment form) gets the same page:
        # its script reads the token from the path. That request was logged already.
        # Not stripped: Python counts control characters as blanks, and "no next" is allowed.
        next_arg = self.get_argument("next", "", strip=False)
        self.continue_target(next_arg)
        login = None if self.current_user else self.get_login_url()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy", pages.OPEN_PAGE_CSP)
        self.finish(
            pages.open_page(
                api=self.prefix + "open",
                xsrf=self.xsrf_token.decode(),
                next_url=next_arg,
                login_url=login,
                user=self.user_name if self.current_user else "",
                hub_home=self.settings["hub_prefix"] + "home",
            )
        )

    @web.authenticated
    async def post(self, legacy_token: str | None = None) -> None:
        """``POST open {"token", "next"?}`` (JSON, ``X-XSRFToken``): the link's details."""
        if legacy_token is not None:
            raise web.HTTPError(404, "post to open, with the token in the body")
        self.hub_auth.check_xsrf_cookie(self)
        body = json_object(self.request.body, empty_is_object=True)
        token, next_arg = body.get("token"), body.get("next") or ""
        if not isinstance(token, str) or not token or not isinstance(next_arg, str):
            raise web.HTTPError(400, "'token' (and 'next', if any) must be strings")
        target = self.continue_target(next_arg)
        _, share = self.open_share(token)
        await check_admitted(self, share)  # 403 naming the owner: no Continue, nothing starts
        if share.owner != self.user_name:  # it is in the visitor's "Shared with me" now
            self.store.record_access(share.id, self.user_name, "open", share.version)
        self.set_header("Cache-Control", "no-store")
        self.finish(
            {
                "owner": share.owner,
                "name": visible_text(share.name),
                "expires_at": iso(share.expires),
                "expires": pages.when(share.expires),
                "environment": pages.environment_pairs(share.environment),
                "continue_url": f"{target}#sdcc-share={token}",
                "interface": interface_name(target),
                "preview_url": f"{self.prefix}preview/{share.id}",  # sdcc_lab.share.preview
                **folder_details(self.store.folder_files([share.snapshot_key]), share),
            }
        )


# What the link page's Continue names, by the first segment below /hub/user-redirect/.
_INTERFACES = {"lab": "JupyterLab", "tree": "Jupyter Notebook", "notebooks": "Jupyter Notebook"}


def interface_name(target: str) -> str:
    """The interface a Continue target opens, in words ("Jupyter" when unknown)."""
    below = target.split("/user-redirect/", 1)[-1]
    return _INTERFACES.get(below.split("/", 1)[0].split("?", 1)[0], "Jupyter")


def folder_details(folders: dict[str, Any], share: ShareInfo) -> dict[str, Any]:
    """``kind``, and for a folder its ``files`` as ``[path, size]`` text pairs (the page's rows)."""
    files = folders.get(share.snapshot_key)
    if files is None:
        return {"kind": "notebook"}
    return {
        "kind": "folder",
        "files": [[visible_text(path), human_size(size)] for path, size in files],
    }


class SharesPage(PageBase):
    """``GET``: the user's live links (every link for an admin), each with a Revoke form."""

    @web.authenticated
    async def get(self) -> None:
        admin = self.is_admin()
        shares = self.store.list(None if admin else self.user_name)
        imports: dict[str, list[Access]] = {}
        for a in self.store.accesses([s.id for s in shares]):
            if a.action == "import":
                imports.setdefault(a.share_id, []).append(a)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            pages.shares_page(shares, self.xsrf_token.decode(), self.prefix, admin, imports)
        )


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
        next_arg = self.get_argument("next", "", strip=False) or self.prefix
        target = safe_next(next_arg, self.prefix)
        if target is None:
            raise web.HTTPError(400, "'next' must be a page of the share service")
        self.store.revoke(share_id)
        self.redirect(target, status=303)


class OAuthCallback(HubOAuthCallbackHandler):  # type: ignore[misc]  # JupyterHub is untyped
    """The hub's OAuth callback, with the service's own ``HubOAuth``."""

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]
