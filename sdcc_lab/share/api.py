"""The share service's API, for single-user servers (``Authorization: token …``).

A server acts only for its own user: the hub says whose token it is. Cookie
authentication is refused here, so no browser can be led to call the API.
Notebook bodies stream to and from disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, cast

from tornado import web
from tornado.iostream import StreamClosedError

from .. import openapi
from ..folderpack import BadPack, FolderTooBig, pack_limit, read_manifest
from ..jsonbody import json_object
from ..nbstream import (
    InvalidNotebook,
    NotebookStream,
    NotebookTooDeep,
    human_size,
    kernelspec_of,
    too_big,
)
from . import pages
from .audience import check_admitted, directory, parse_audience
from .base import CHUNK, SHARE_HEADER, ShareBase, iso
from .limits import Upload, UploadGate
from .store import Audience, FolderFiles, LimitReached, ShareInfo, renamed_path
from .tokens import TokenClaims


class APIBase(ShareBase):
    async def prepare(self) -> None:
        # A hub API token only (header, or URL where the hub allows it); the
        # service's login cookie never counts here, so a browser cannot be led
        # to call the API.
        token = self.hub_auth.get_token(self, in_cookie=False)
        model = await self.hub_auth.user_for_token(token, sync=False) if token else None
        self.current_user = self.allowed(model)
        if self.current_user is None:
            raise web.HTTPError(403, "the share service's API takes a hub API token")

    def json_body(self) -> dict[str, Any]:
        return json_object(self.request.body, empty_is_object=True)

    def token_arg(self) -> str:
        token = self.json_body().get("token")
        if not isinstance(token, str) or not token:
            raise web.HTTPError(400, "'token' is missing")
        return token


class OpenAPIDescription(ShareBase):
    """``GET api/openapi.json``: the service's OpenAPI description (no data in it, so no login)."""

    async def prepare(self) -> None:
        self.current_user = None

    async def get(self) -> None:
        document = openapi.load("share")
        document["servers"] = [{"url": self.prefix.rstrip("/")}]  # this service's prefix
        self.finish(document)


class NotFound(ShareBase):
    """Any other URL: ``404`` in the service's error shape (``{"message"}`` under ``api/``, a page elsewhere)."""

    async def prepare(self) -> None:
        raise web.HTTPError(404, "no such page or API endpoint of the share service")

    def finish_error(self, status_code: int, message: str) -> None:
        if self.request.path.startswith(self.prefix + "api/"):
            return super().finish_error(status_code, message)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(pages.problem_page("Not found", message, self.settings["hub_prefix"] + "home"))


class NotebookUpload(APIBase):
    """Streams a notebook body to a part file in the snapshot folder, checking it on the way.

    The user's limits are checked in :meth:`prepare`, when the headers are
    in and before any of the body is read: the size the request announces,
    uploads in flight, the snapshot quota (and, for subclasses, the live-link
    count). Each chunk is checked and written in the service's thread pool,
    so a large or hostile body never holds the event loop; the next chunk is
    read when the last one is done.
    """

    _part: Path | None = None
    _fh: Any = None
    _upload: Upload | None = None
    _busy: asyncio.Future[None] | None = None
    _gone = False  # the request ended (answered, or the client went away)
    _body_read = False  # set by get/post/put: tornado calls them once the whole body is in
    _refused: tuple[int, str] | None = None
    new_link = False  # a new link (POST shares) rather than a new version
    upload_method = "PUT"  # the method that uploads; any other streams nothing
    kind = "notebook"  # or "folder": the body is a tar of the folder's files (folderpack)

    @property
    def gate(self) -> UploadGate:
        return cast(UploadGate, self.settings["share_uploads"])

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method != self.upload_method:
            # Not an upload (GET shares; a method tornado answers 405): a body is read and
            # dropped by data_received (no part file), and the request is answered.
            return
        service = self.service
        kind = self.get_argument("kind", "notebook")
        if kind not in ("notebook", "folder"):
            raise web.HTTPError(400, "'kind' must be 'notebook' or 'folder'")
        self.kind = kind
        limit = self.size_limit
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            raise web.HTTPError(413, self.too_big_message())
        self.upload_path = _clean_path(self.get_argument("path", ""))
        self.check_before_body()
        user = self.user_name
        if self.gate.in_flight(user) >= service.max_concurrent_uploads:
            raise web.HTTPError(
                429,
                f"you already have {service.max_concurrent_uploads} uploads in progress to the "
                "share service; try again when they have finished",
            )
        # The upload replaces this file's snapshot: only the other files' count.
        used, others = self.store.snapshot_bytes(user, except_path=self.upload_path)
        headroom = service.max_snapshot_bytes_per_user - others - self.gate.reserved(user)
        if length is not None and int(length) > headroom:
            raise web.HTTPError(
                413, self.quota_message(int(length), used + self.gate.reserved(user))
            )
        reserved = int(length) if length is not None else max(0, min(headroom, limit))
        # Bodies without a length are counted and refused past the limit (the
        # connection is cut past twice the limit).
        connection: Any = self.request.connection
        if connection is not None:
            connection.set_max_body_size(2 * limit + CHUNK)
        self._size = 0
        self._reserved = reserved
        self._scan = NotebookStream(max_depth=service.max_notebook_depth)
        self._upload = self.gate.enter(user, reserved, self.new_link)
        self._part = self.store.new_part_file()
        self._fh = open(self._part, "wb")  # noqa: SIM115, ASYNC230 (closed in finish_upload / on_finish)

    def finish_error(self, status_code: int, message: str) -> None:
        if not self._body_read:
            # Refused before the body was read: tornado ends the connection after this
            # answer. Say so, or a proxy that keeps connections alive sends its next
            # request into the closed one (and answers it 503).
            self.set_header("Connection", "close")
        super().finish_error(status_code, message)

    def check_before_body(self) -> None:
        """Refusals of a subclass that need no body (raise ``web.HTTPError``)."""

    def too_big_message(self) -> str:
        if self.kind == "folder":
            return (
                "the folder's files are larger than the limit of "
                f"{human_size(self.service.max_folder_size)}"
            )
        return too_big(self.service.max_notebook_size)

    @property
    def size_limit(self) -> int:
        """The body's limit: a folder's pack is its files plus the tar's framing."""
        if self.kind == "folder":
            return pack_limit(self.service.max_folder_files, self.service.max_folder_size)
        return self.service.max_notebook_size

    async def folder_manifest(self, part: Path) -> FolderFiles:
        """A folder upload's files, checked (caps, names, regular files only) off the loop."""
        service = self.service
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self.settings["share_executor"],
                read_manifest,
                part,
                service.max_folder_files,
                service.max_folder_size,
            )
        except FolderTooBig as e:
            raise web.HTTPError(413, str(e)) from None
        except BadPack as e:
            raise web.HTTPError(400, str(e)) from None

    def quota_message(self, size: int, used: int) -> str:
        quota = self.service.max_snapshot_bytes_per_user
        return (
            f"this {self.kind} ({human_size(size)}) does not fit in your share quota of "
            f"{human_size(quota)}: your shared notebooks use {human_size(used)}; revoke links "
            "you no longer need"
        )

    async def data_received(self, chunk: bytes) -> None:
        if self._refused or self._fh is None or self._gone:
            return  # refused: the rest of the body is read and dropped
        self._size += len(chunk)
        if self._size > self.size_limit:
            self._refused = (413, self.too_big_message())
            return
        if self._size > self._reserved:
            used, _ = self.store.snapshot_bytes(self.user_name)
            self._refused = (413, self.quota_message(self._size, used))
            return
        loop = asyncio.get_running_loop()
        self._busy = loop.run_in_executor(
            self.settings["share_executor"], self._check_and_write, self._fh, chunk
        )
        try:
            await self._busy
        except NotebookTooDeep as e:
            self._refused = (400, str(e))
        except InvalidNotebook as e:
            self._refused = (400, f"not a valid notebook: {e}")
        finally:
            self._busy = None
            if self._gone:  # the client went away meanwhile
                self._clean_up()

    def _check_and_write(self, fh: Any, chunk: bytes) -> None:
        """In the thread pool: one chunk at a time, so memory stays bounded."""
        if self.kind == "notebook":  # a folder's pack is checked whole once it is in
            self._scan.feed(chunk)
        fh.write(chunk)

    def finish_upload(self) -> tuple[Path, int, dict[str, Any] | None]:
        """Close the part file; raise 413/400 when the body was refused."""
        assert self._fh is not None and self._part is not None
        self._fh.close()
        self._fh = None
        if self._refused:
            raise web.HTTPError(*self._refused)
        try:
            if self.kind == "notebook":
                self._scan.close()
        except InvalidNotebook as e:
            raise web.HTTPError(400, f"not a valid notebook: {e}") from None
        part, self._part = self._part, None
        return part, self._size, self._scan.metadata

    def limit_error(self, e: LimitReached) -> web.HTTPError:
        if e.what == "live links":
            return web.HTTPError(403, self.live_links_message())
        return web.HTTPError(413, self.quota_message(self._size, e.used))

    def live_links_message(self) -> str:
        return (
            f"you already have {self.service.max_live_shares} live share links; revoke some first"
        )

    def on_finish(self) -> None:
        if self._upload is not None:
            self.gate.leave(self._upload)
            self._upload = None
        self._gone = True
        if self._busy is None:
            self._clean_up()
        # else: the chunk in the thread pool finishes first (data_received cleans up)

    def _clean_up(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
            self._part = None

    on_connection_close = on_finish


def _clean_path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip("/") or len(value) > 4096 or "\0" in value:
        raise web.HTTPError(400, "'path' must name a file")
    if not _is_utf8(value):  # a lone surrogate from JSON's \ud800: no file has that name
        raise web.HTTPError(400, "'path' must be text (UTF-8)")
    path = value.strip("/")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise web.HTTPError(400, "'path' must be a relative path inside the server's root")
    return path


_DIGITS = re.compile(r"[0-9]+")
# A share id has this length (``secrets.token_hex(8)``): a token's length is known before the id.
_ID_PLACEHOLDER = "0" * 16


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _environment(raw: str) -> dict[str, Any]:
    """The ``environment`` argument: a small JSON object that the link's token, the
    answers and the pages can carry (strict JSON: no NaN, no lone surrogates)."""
    try:
        environment = json.loads(raw, parse_constant=_no_constant)
        # Strict JSON out too: NaN refused above, a lone surrogate fails to encode here.
        text = json.dumps(environment, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError):  # RecursionError: nested past Python's limit
        raise web.HTTPError(400, "'environment' must be JSON") from None
    if not isinstance(environment, dict) or len(text) > 8192:
        raise web.HTTPError(400, "'environment' must be a small JSON object")
    return environment


@web.stream_request_body
class SharesAPI(NotebookUpload):
    """``POST api/shares?path=…&expires_in=…&environment=…`` (body: the notebook);
    ``GET api/shares[?all=1]``."""

    new_link = True
    upload_method = "POST"

    audience = Audience()

    def check_before_body(self) -> None:
        user = self.user_name
        # Its shape and bounds before the body: the names are asked of the hub in post.
        self.audience = parse_audience(
            self.get_argument("audience", None, strip=False), self.service.max_audience_names
        )
        if self.store.count_live(user) + self.gate.new_links(user) >= self.service.max_live_shares:
            raise web.HTTPError(403, self.live_links_message())

    def model_with_audience(
        self, share: ShareInfo, audience: Audience, folders: dict[str, FolderFiles] | None = None
    ) -> dict[str, Any]:
        model = {**self.share_model(share), "audience": audience.model()}
        return with_kind(
            model,
            share,
            self.store.folder_files([share.snapshot_key]) if folders is None else folders,
        )

    async def get(self) -> None:
        self._body_read = True
        everyone = self.get_argument("all", "") == "1"
        if everyone and not self.is_admin():
            raise web.HTTPError(403, "only admins may list every share")
        shares = self.store.list(None if everyone else self.user_name)
        audiences = self.store.audiences([s.id for s in shares])
        folders = self.store.folder_files([s.snapshot_key for s in shares])
        self.finish(
            {
                "shares": [
                    self.model_with_audience(s, audiences.get(s.id, Audience()), folders)
                    for s in shares
                ],
                "max_expires_in": self.service.max_expires_in,
                "default_expires_in": self.service.default_expires_in,
                "max_folder_files": self.service.max_folder_files,
                "max_folder_size": self.service.max_folder_size,
            }
        )

    async def post(self) -> None:
        self._body_read = True
        path = self.upload_path
        raw_expiry = self.get_argument("expires_in", None)
        expires_in = None
        if raw_expiry is not None:
            # Plain decimal digits only: int() would also take "1_000", "+5" or other scripts'
            # digits, and a blank is no lifetime (leave the argument out for the default).
            if not _DIGITS.fullmatch(raw_expiry):
                raise web.HTTPError(400, "'expires_in' must be a number of seconds")
            maximum = self.service.max_expires_in
            # Past the maximum's length it is too long: no int() of thousands of digits.
            expires_in = int(raw_expiry) if len(raw_expiry) <= len(str(maximum)) else None
            if expires_in is None or not 0 < expires_in <= maximum:
                raise web.HTTPError(400, f"'expires_in' must be between 1 and {maximum} seconds")
        environment = _environment(self.get_argument("environment", "{}"))
        part, size, metadata = self.finish_upload()
        self._part = part  # removed in on_finish unless committed
        folder_files = await self.folder_manifest(part) if self.kind == "folder" else None
        # Asked of the hub only when the share names someone.
        unknown = await directory(self).unknown_names(self.audience) if self.audience else []
        if unknown:
            raise web.HTTPError(
                400, "the hub has no user or group named " + ", ".join(map(repr, unknown))
            )
        kernel = kernelspec_of(metadata)
        if "kernelspec" not in environment and kernel is not None:
            environment["kernelspec"] = kernel
        self._part = part  # removed in on_finish unless committed
        if not self.signer.fits(TokenClaims(_ID_PLACEHOLDER, self.user_name, path, environment)):
            raise web.HTTPError(
                400, "the file's path and the session's environment are too long for a share link"
            )
        try:
            share = self.store.create(
                self.user_name,
                path,
                environment,
                self.service.lifetime(expires_in),
                snapshot=(part, size),
                max_live=self.service.max_live_shares,
                quota=self.service.max_snapshot_bytes_per_user,
                audience=self.audience,
                folder_files=folder_files,
            )
        except LimitReached as e:
            raise self.limit_error(e) from None
        self._part = None
        self.set_status(201)
        self.finish(self.model_with_audience(share, self.audience))


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
    of every live share of the caller's file at ``path`` (one snapshot for them all)."""

    def check_before_body(self) -> None:
        group = [s for s in self.store.list(self.user_name) if s.path == self.upload_path]
        if not group:
            raise web.HTTPError(404, "no live share of this file")
        # A folder's links take a folder's pack, a notebook's a notebook.
        is_folder = bool(self.store.folder_files([group[0].snapshot_key]))
        if is_folder != (self.kind == "folder"):
            raise web.HTTPError(
                400,
                f"the live shares of {self.upload_path} are of a {'folder' if is_folder else 'notebook'}",
            )

    async def put(self) -> None:
        self._body_read = True
        part, size, _ = self.finish_upload()
        self._part = part  # removed in on_finish unless committed
        folder_files = await self.folder_manifest(part) if self.kind == "folder" else None
        try:
            versions = self.store.commit_snapshot(
                self.user_name,
                self.upload_path,
                part,
                size,
                quota=self.service.max_snapshot_bytes_per_user,
                folder_files=folder_files,
            )
        except LimitReached as e:
            raise self.limit_error(e) from None
        self._part = None
        if not versions:  # its links were revoked while it streamed in
            raise web.HTTPError(404, "no live share of this file")
        self.finish({"versions": versions})


class RenameAPI(APIBase):
    """``POST api/renames {"from", "to"}``: the caller's shares follow a renamed file."""

    async def post(self) -> None:
        body = self.json_body()
        old, new = _clean_path(body.get("from")), _clean_path(body.get("to"))
        for share in self.store.list(self.user_name):
            path = renamed_path(share.path, old, new)
            if path is not None and not self.signer.fits(
                TokenClaims(share.id, share.owner, path, share.environment)
            ):  # its links could no longer be opened
                raise web.HTTPError(
                    400, "the new path is too long for the share links of this file"
                )
        self.finish({"renamed": self.store.rename(self.user_name, old, new)})


class PeekAPI(APIBase):
    """``POST api/peek {"token"}``: what a link is, without opening it."""

    async def post(self) -> None:
        _, share = self.open_share(self.token_arg())
        await check_admitted(self, share)
        if share.owner != self.user_name:  # it is in the recipient's "Shared with me" now
            self.store.record_access(share.id, self.user_name, "open", share.version)
        model = self.share_model(share)
        model.pop("token")
        model.pop("url")
        self.finish(with_kind(model, share, self.store.folder_files([share.snapshot_key])))


class FetchAPI(APIBase):
    """``POST api/fetch {"token"}``: the snapshot (streamed), its record in ``X-Sdcc-Share``.
    Counts one open."""

    async def post(self) -> None:
        _, share = self.open_share(self.token_arg())
        await check_admitted(self, share)
        try:
            fh = open(self.store.snapshot_file(share.snapshot_key), "rb")  # noqa: SIM115, ASYNC230 (chunked reads)
        except FileNotFoundError:
            raise web.HTTPError(404, "this share has no saved version") from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            self.store.record_open(share.id)
            share = self.store.get(share.id) or share  # the version this file is
            if share.owner != self.user_name:
                self.store.record_access(share.id, self.user_name, "import", share.version)
            model = self.share_model(share)
            for key in ("token", "url"):
                model.pop(key)
            folders = self.store.folder_files([share.snapshot_key])
            model["kind"] = "folder" if folders else "notebook"  # the file list is peek's
            self.set_header(SHARE_HEADER, json.dumps(model, ensure_ascii=True))
            self.set_header(
                "Content-Type", "application/x-tar" if folders else "application/x-ipynb+json"
            )
            self.set_header("Content-Length", str(size))
            while chunk := fh.read(CHUNK):
                self.write(chunk)
                try:
                    await self.flush()
                except StreamClosedError:
                    return
        self.finish()


def with_kind(
    model: dict[str, Any], share: ShareInfo, folders: dict[str, FolderFiles]
) -> dict[str, Any]:
    """``kind`` ("notebook" or "folder") and, for a folder, its ``files`` ({"path", "size"})."""
    files = folders.get(share.snapshot_key)
    model["kind"] = "folder" if files is not None else "notebook"
    if files is not None:
        model["files"] = [{"path": p, "size": n} for p, n in files]
    return model


def share_state(share: ShareInfo, imported: int | None, now: Any) -> str:
    """A share's state for a recipient who imported version ``imported`` (None: never)."""
    if share.revoked is not None:
        return "revoked"
    if not share.is_live(now):
        return "expired"
    if imported is None:
        return "new"
    return "updated" if imported < share.version else "imported"


class InboxAPI(APIBase):
    """``GET api/inbox``: every share addressed to the caller or a group of theirs, and
    every link they opened, with its state for them."""

    async def get(self) -> None:
        user = self.user_name
        groups = await directory(self).user_groups(user) or frozenset()
        shares = self.store.addressed_to(user, groups)
        ids = [s.id for s in shares]
        audiences = self.store.audiences(ids)
        imported: dict[str, int] = {}
        for a in self.store.accesses(ids, user):
            if a.action == "import":
                imported[a.share_id] = max(a.version, imported.get(a.share_id, 0))
        now = self.store.clock()
        folders = self.store.folder_files([s.snapshot_key for s in shares])
        items = []
        for share in shares:
            audience = audiences.get(share.id, Audience())
            if not audience.admits(user, groups):  # opened once, no longer in its audience
                continue
            state = share_state(share, imported.get(share.id), now)
            item: dict[str, Any] = {
                "id": share.id,
                "owner": share.owner,
                "path": share.path,
                "name": share.name,
                "kind": "folder" if share.snapshot_key in folders else "notebook",
                "updated_at": iso(self.updated_at(share)),
                "expires_at": iso(share.expires),
                "state": state,
                "version": share.version,
                "imported_version": imported.get(share.id),
                "environment": share.environment,
                "addressed": bool(audience),
            }
            if state not in ("revoked", "expired"):  # only a live share can be imported
                token = self.token_for(share)
                item["token"] = token
                item["url"] = self.url_for(token)
            items.append(item)
        self.finish({"shares": items})

    def updated_at(self, share: ShareInfo) -> Any:
        """When its last version was saved: the snapshot's time (else when it was made)."""
        try:
            mtime = self.store.snapshot_file(share.snapshot_key).stat().st_mtime
        except OSError:
            return share.revoked or share.created
        return datetime.fromtimestamp(mtime, timezone.utc)


class AccessAPI(APIBase):
    """``GET api/shares/{id}/access[?action=import|open|all]``: who imported (or opened)
    which version of a share, and when (its owner or a hub admin)."""

    ACTIONS: ClassVar[dict[str, tuple[str, ...]]] = {
        "import": ("import",),
        "open": ("open",),
        "all": ("open", "import"),
    }

    async def get(self, share_id: str) -> None:
        wanted = self.get_argument("action", "import")
        if wanted not in self.ACTIONS:
            raise web.HTTPError(400, "'action' must be one of import, open, all")
        share = self.store.get(share_id)
        if share is None:
            raise web.HTTPError(404, "no such share")
        if share.owner != self.user_name and not self.is_admin():
            raise web.HTTPError(403, "only its owner or an admin may see who used a share")
        actions = self.ACTIONS[wanted]
        accesses = [a for a in self.store.accesses([share_id]) if a.action in actions]
        self.finish(
            {
                "accesses": [
                    {"user": a.user, "version": a.version, "at": iso(a.at), "action": a.action}
                    for a in accesses
                ],
                "version": share.version,
            }
        )
