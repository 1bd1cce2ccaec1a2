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

import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from tornado import web
from tornado.iostream import StreamClosedError

from . import pages
from .app import ShareService
from .nbstream import InvalidNotebook, NotebookStream, too_big
from .store import ShareInfo, ShareStore
from .tokens import ShareSigner, TokenClaims, TokenError

CHUNK = 256 * 1024
SHARE_HEADER = "X-Sdcc-Share"


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class ShareBase(HubOAuthenticated, web.RequestHandler):
    """Authentication (async, in ``prepare``) and access to the service's parts."""

    @property
    def service(self) -> ShareService:
        return self.settings["share_service"]

    @property
    def store(self) -> ShareStore:
        return self.settings["share_store"]

    @property
    def signer(self) -> ShareSigner:
        return self.settings["share_signer"]

    @property
    def prefix(self) -> str:
        return self.settings["share_prefix"]

    @property
    def hub_auth(self) -> Any:
        return self.settings["hub_auth"]

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        user = None
        if model:
            try:
                user = self.check_hub_user(model)
            except UserNotAllowed:  # authenticated, but without the scope
                raise web.HTTPError(403, f"{model.get('name')} may not use the share service") from None
        self.current_user = user

    @property
    def user_name(self) -> str:
        return str(self.current_user["name"])

    def is_admin(self) -> bool:
        user = self.current_user or {}
        return bool(user.get("admin")) or user.get("name") in self.service.admin_users

    # --- shares ------------------------------------------------------------------
    def token_for(self, share: ShareInfo) -> str:
        return self.signer.sign(TokenClaims(share.id, share.owner, share.path, share.environment))

    def url_for(self, token: str) -> str:
        return f"{self.service.public_url}{self.prefix}open/{token}"

    def open_share(self, token: str) -> tuple[TokenClaims, ShareInfo]:
        """The live share a token names; 403 forged, 410 expired/revoked/gone."""
        try:
            claims = self.signer.verify(token)
        except TokenError as e:
            raise web.HTTPError(403, f"This share link is not valid: {e}.") from None
        share = self.store.get(claims.id)
        if share is None or share.owner != claims.owner:
            raise web.HTTPError(410, "This share link no longer exists.")
        if share.revoked is not None:
            raise web.HTTPError(410, f"{share.owner} revoked this share link.")
        if not share.is_live():
            raise web.HTTPError(410, f"This share link expired on {pages.when(share.expires)}.")
        return claims, share

    def share_model(self, share: ShareInfo, token: str | None = None) -> dict[str, Any]:
        token = token or self.token_for(share)
        return {
            "id": share.id, "owner": share.owner, "path": share.path, "name": share.name,
            "url": self.url_for(token), "token": token, "environment": share.environment,
            "created_at": iso(share.created), "expires_at": iso(share.expires),
            "opens": share.opens, "last_opened_at": iso(share.last_opened),
            "version": share.version, "size": share.snapshot_size,
        }


# --- API (servers, token-authenticated) ---------------------------------------------
class APIBase(ShareBase):
    async def prepare(self) -> None:
        await super().prepare()
        if self.current_user is None or not getattr(self, "_token_authenticated", False):
            raise web.HTTPError(403, "the share service's API takes a hub API token")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def token_arg(self) -> str:
        token = self.json_body().get("token")
        if not isinstance(token, str) or not token:
            raise web.HTTPError(400, "'token' is missing")
        return token


class NotebookUpload(APIBase):
    """Streams a notebook body to a part file in the snapshot folder, checking it on the way."""

    _part: Path | None = None
    _fh: Any = None

    async def prepare(self) -> None:
        await super().prepare()
        limit = self.service.max_notebook_size
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise web.HTTPError(413, self.too_big_message())
        # Bodies without a length are counted and refused past the limit (the
        # connection is cut past twice the limit).
        connection: Any = self.request.connection
        if connection is not None:
            connection.set_max_body_size(2 * limit + CHUNK)
        self._size = 0
        self._too_big = False
        self._invalid: str | None = None
        self._scan = NotebookStream()
        self._part = self.store.new_part_file()
        # Local disk, one chunk at a time: short enough for the event loop.
        self._fh = open(self._part, "wb")  # noqa: SIM115, ASYNC230 (closed in finish_upload / on_finish)

    def too_big_message(self) -> str:
        return too_big(self.service.max_notebook_size)

    def data_received(self, chunk: bytes) -> None:
        if self._too_big or self._invalid or self._fh is None:
            return
        self._size += len(chunk)
        if self._size > self.service.max_notebook_size:
            self._too_big = True
            return
        try:
            self._scan.feed(chunk)
        except InvalidNotebook as e:
            self._invalid = str(e)
            return
        self._fh.write(chunk)

    def finish_upload(self) -> tuple[Path, int, dict[str, Any] | None]:
        """Close the part file; raise 413/400 when the body was refused."""
        assert self._fh is not None and self._part is not None
        self._fh.close()
        self._fh = None
        if self._too_big:
            raise web.HTTPError(413, self.too_big_message())
        if self._invalid is None:
            try:
                self._scan.close()
            except InvalidNotebook as e:
                self._invalid = str(e)
        if self._invalid:
            raise web.HTTPError(400, f"not a valid notebook: {self._invalid}")
        part, self._part = self._part, None
        return part, self._size, self._scan.metadata

    def on_finish(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._part is not None:
            self._part.unlink(missing_ok=True)

    on_connection_close = on_finish


def _clean_path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/") or len(value) > 4096 or "\0" in value:
        raise web.HTTPError(400, "'path' must name a file")
    path = value.strip("/")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise web.HTTPError(400, "'path' must be a relative path inside the server's root")
    return path


@web.stream_request_body
class SharesAPI(NotebookUpload):
    """``POST api/shares?path=…&expires_in=…&environment=…`` (body: the notebook);
    ``GET api/shares[?all=1]``."""

    async def prepare(self) -> None:
        if self.request.method == "POST":
            await super().prepare()
        else:
            await APIBase.prepare(self)

    async def get(self) -> None:
        everyone = self.get_argument("all", "") == "1"
        if everyone and not self.is_admin():
            raise web.HTTPError(403, "only admins may list every share")
        shares = self.store.list(None if everyone else self.user_name)
        self.finish({
            "shares": [self.share_model(s) for s in shares],
            "max_expires_in": self.service.max_expires_in,
            "default_expires_in": self.service.default_expires_in,
        })

    async def post(self) -> None:
        path = _clean_path(self.get_argument("path", ""))
        raw_expiry = self.get_argument("expires_in", "")
        try:
            expires_in = int(raw_expiry) if raw_expiry else None
        except ValueError:
            raise web.HTTPError(400, "'expires_in' must be a number of seconds") from None
        if expires_in is not None and not 0 < expires_in <= self.service.max_expires_in:
            raise web.HTTPError(
                400, f"'expires_in' must be between 1 and {self.service.max_expires_in} seconds"
            )
        try:
            environment = json.loads(self.get_argument("environment", "{}"))
        except ValueError:
            raise web.HTTPError(400, "'environment' must be JSON") from None
        if not isinstance(environment, dict) or len(json.dumps(environment)) > 8192:
            raise web.HTTPError(400, "'environment' must be a small JSON object")
        part, size, metadata = self.finish_upload()
        if "kernelspec" not in environment and metadata and isinstance(metadata.get("kernelspec"), dict):
            ks = metadata["kernelspec"]
            environment["kernelspec"] = {k: ks.get(k) for k in ("name", "display_name", "language")}
        if self.store.count_live(self.user_name) >= self.service.max_live_shares:
            part.unlink(missing_ok=True)
            raise web.HTTPError(
                403, f"you already have {self.service.max_live_shares} live share links; revoke some first"
            )
        share = self.store.create(self.user_name, path, environment, self.service.lifetime(expires_in))
        self.store.commit_snapshot(share.id, part, size)
        share = self.store.get(share.id) or share
        self.set_status(201)
        self.finish(self.share_model(share))


class ShareAPI(APIBase):
    """``DELETE api/shares/{id}``: the owner or an admin revokes a link."""

    async def delete(self, share_id: str) -> None:
        share = self.store.get(share_id)
        if share is None:
            raise web.HTTPError(404, "no such share")
        if share.owner != self.user_name and not self.is_admin():
            raise web.HTTPError(403, "only its owner or an admin may revoke a share")
        self.store.revoke(share_id)
        self.set_status(204)
        self.finish()


@web.stream_request_body
class SnapshotAPI(NotebookUpload):
    """``PUT api/snapshots?path=…`` (body: the notebook): the new last saved version
    of every live share of the caller's file at ``path``."""

    async def put(self) -> None:
        path = _clean_path(self.get_argument("path", ""))
        part, size, _ = self.finish_upload()
        shares = [s for s in self.store.list(self.user_name) if s.path == path]
        if not shares:
            part.unlink(missing_ok=True)
            raise web.HTTPError(404, "no live share of this file")
        versions = {}
        for share in shares[:-1]:
            copy = self.store.new_part_file()
            shutil.copyfile(part, copy)
            versions[share.id] = self.store.commit_snapshot(share.id, copy, size)
        versions[shares[-1].id] = self.store.commit_snapshot(shares[-1].id, part, size)
        self.finish({"versions": versions})


class RenameAPI(APIBase):
    """``POST api/renames {"from", "to"}``: the caller's shares follow a renamed file."""

    async def post(self) -> None:
        body = self.json_body()
        old, new = _clean_path(body.get("from")), _clean_path(body.get("to"))
        self.finish({"renamed": self.store.rename(self.user_name, old, new)})


class PeekAPI(APIBase):
    """``POST api/peek {"token"}``: what a link is, without opening it."""

    async def post(self) -> None:
        _, share = self.open_share(self.token_arg())
        model = self.share_model(share)
        model.pop("token")
        model.pop("url")
        self.finish(model)


class FetchAPI(APIBase):
    """``POST api/fetch {"token"}``: the snapshot (streamed), its record in ``X-Sdcc-Share``.
    Counts one open."""

    async def post(self) -> None:
        _, share = self.open_share(self.token_arg())
        try:
            fh = open(self.store.snapshot_path(share.id), "rb")  # noqa: SIM115, ASYNC230 (chunked reads)
        except FileNotFoundError:
            raise web.HTTPError(404, "this share has no saved version") from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.store.record_open(share.id)
            model = self.share_model(share)
            for key in ("token", "url"):
                model.pop(key)
            self.set_header(SHARE_HEADER, json.dumps(model, ensure_ascii=True))
            self.set_header("Content-Type", "application/x-ipynb+json")
            self.set_header("Content-Length", str(size))
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                try:
                    await self.flush()
                except StreamClosedError:
                    return
        self.finish()


# --- pages (browsers, OAuth) ---------------------------------------------------------
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


def handlers(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    token = r"([^/]+)"
    return [
        (prefix + "oauth_callback", OAuthCallback),
        (prefix + "api/shares", SharesAPI),
        (prefix + r"api/shares/([0-9a-f]{1,32})", ShareAPI),
        (prefix + "api/snapshots", SnapshotAPI),
        (prefix + "api/renames", RenameAPI),
        (prefix + "api/peek", PeekAPI),
        (prefix + "api/fetch", FetchAPI),
        (prefix + "open/" + token, LinkPage),
        (prefix + r"shares/([0-9a-f]{1,32})/revoke", RevokeForm),
        (prefix.rstrip("/") + "/?", SharesPage),
    ]
