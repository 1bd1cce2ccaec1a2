"""Share links in the single-user server: the REST API and the save/rename hooks.

``POST/GET shares``, ``DELETE shares/{id}``, ``GET shares/inbox``,
``GET shares/{id}/access``, ``POST imports/preview`` and
``POST imports`` (see ``docs/api.md``). The share service does the signing,
the records and the snapshots (:mod:`sdcc_lab.server.share_client`); this
module checks paths against the contents manager, reads and writes the files,
and compares a link's environment with this session.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ApiPath, ensure_async, to_os_path, url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from ..folderpack import (
    BadPack,
    FolderListing,
    FolderTooBig,
    pack_limit,
    read_manifest,
    too_many_bytes,
)
from ..jsonbody import json_object
from ..labels import difference, option_value
from ..nbstream import InvalidNotebook, kernelspec_of, too_big
from .handlers import API_PREFIX, SDCCAPIHandler
from .imports import (
    Download,
    ImportRecord,
    PackDownload,
    notebook_name,
    place_folder,
    safe_segment,
    scan_file,
    umask,
)
from .share_client import ShareClient, ShareServiceError
from .share_sync import Shares, setup_shares

TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-.]{16,8192}$")
SHARE_ID_RE = re.compile(r"^[0-9a-f]{1,32}$")
SHARE_PARAM = "sdcc-share"  # the fragment (or, in old links, query) key of a JupyterLab address


def parse_link(link: Any) -> str:
    """The token in a share link.

    Accepted: the link the portal hands out (``…/services/share/open#TOKEN``),
    the JupyterLab address a link leads to (``…/lab#sdcc-share=TOKEN``), a bare
    token, and the forms of old that put the token in a logged path or query
    (``…/open/TOKEN``, ``…?sdcc-share=TOKEN``), so that links already sent on keep
    working when pasted. The portal never makes the old forms any more.
    """
    if not isinstance(link, str) or not link.strip() or len(link) > 16384:
        raise web.HTTPError(400, "'link' must be a share link")
    link = link.strip()
    token: str = link
    if any(ch in link for ch in "/?#"):
        try:
            parts = urlsplit(link)
        except ValueError:  # urllib's refusal: an open "[", a host that NFKC changes
            raise web.HTTPError(400, "this is not a share link") from None
        in_fragment = parse_qs(parts.fragment).get(SHARE_PARAM)
        in_query = parse_qs(parts.query).get(SHARE_PARAM)
        if in_fragment:
            token = in_fragment[0]
        elif parts.fragment and parts.path.rstrip("/").endswith("/open"):
            token = parts.fragment
        elif in_query:
            token = in_query[0]
        elif "/open/" in parts.path:
            token = parts.path.rsplit("/open/", 1)[1].strip("/")
        else:
            raise web.HTTPError(400, "this is not a share link")
    if not TOKEN_RE.match(token):
        raise web.HTTPError(400, "this is not a share link")
    return token


_SCALARS = (str, int, float, bool)


def link_environment(raw: Any) -> dict[str, Any]:
    """A link's environment in the shape this server writes, whatever the link carries.

    The share service keeps any JSON object of at most 8 KiB as a link's
    environment, and a sender can call it directly, so a recipient's server
    must not trust the shape: a ``scheduler`` that is not a string, ``options``
    that are not an object of plain values, a ``kernelspec`` that is not an
    object of strings are dropped (the link still previews and imports).
    """
    if not isinstance(raw, dict):
        return {}
    env = {k: v for k, v in raw.items() if k not in ("scheduler", "options", "kernelspec")}
    if isinstance(raw.get("scheduler"), str):
        env["scheduler"] = raw["scheduler"]
    if isinstance(raw.get("options"), dict):
        env["options"] = {
            str(k): v for k, v in raw["options"].items() if v is None or isinstance(v, _SCALARS)
        }
    if isinstance(raw.get("kernelspec"), dict):
        env["kernelspec"] = {k: v for k, v in raw["kernelspec"].items() if isinstance(v, str)}
    env.pop("kernels", None)
    if isinstance(raw.get("kernels"), list):  # a folder's notebooks' kernels
        env["kernels"] = [
            {k: v for k, v in spec.items() if isinstance(v, str)}
            for spec in raw["kernels"]
            if isinstance(spec, dict)
        ]
    return env


class ShareAPIHandler(SDCCAPIHandler):
    @property
    def shares(self) -> Shares:
        return cast(Shares, self.settings["sdcc_lab_shares"])

    @property
    def client(self) -> ShareClient:
        return self.shares.client

    def json_body(self) -> dict[str, Any]:
        return json_object(self.request.body)

    def root(self) -> Path:
        root = getattr(self.contents_manager, "root_dir", None)
        if not root:
            raise web.HTTPError(400, "sharing needs a file-based contents manager")
        return Path(os.path.realpath(root))

    async def is_folder(self, path: Any) -> bool:
        """Whether ``path`` names a folder; a path that fails the checks is left to
        :meth:`notebook_file`, which says what is wrong with it."""
        if not isinstance(path, str) or not path.strip():
            return False
        try:
            self.check_api_path(path)
        except web.HTTPError:
            return False
        cm: Any = self.contents_manager
        return bool(await ensure_async(cm.dir_exists(path)))

    async def folder_dir(self, path: str) -> tuple[str, Path]:
        """Check a folder's API path as :meth:`notebook_file` does a notebook's; its OS path."""
        self.check_api_path(path)
        cm: Any = self.contents_manager
        if await ensure_async(cm.is_hidden(path)):
            raise web.HTTPError(404, f"no folder at {path}")
        os_path = to_os_path(ApiPath(path), str(self.root()))
        real = Path(os.path.realpath(os_path))  # noqa: ASYNC240 (a local path, no I/O wait)
        if not real.is_relative_to(self.root()) or real == self.root():
            raise web.HTTPError(403, f"{path} leads outside the server's root")
        return path.strip("/"), real

    @staticmethod
    def check_api_path(path: str) -> None:
        if path.startswith("/") or os.path.isabs(path) or "\\" in path or "\0" in path:
            raise web.HTTPError(400, "'path' must be relative to the server's root")
        if any(seg in ("..", ".") for seg in path.split("/")):
            raise web.HTTPError(400, "'path' must not contain '..' or '.'")
        try:
            path.encode("utf-8")  # a name of non-UTF-8 bytes arrives with lone surrogates
        except UnicodeEncodeError:
            raise web.HTTPError(
                400, "this file's name is not valid UTF-8: rename it to share it"
            ) from None

    async def notebook_file(self, path: Any) -> tuple[str, Path]:
        """Check ``path`` (API path) the way a user would expect; its OS path."""
        if not isinstance(path, str) or not path.strip():
            raise web.HTTPError(400, "'path' must name a notebook")
        if path.startswith("/") or os.path.isabs(path) or "\\" in path or "\0" in path:
            raise web.HTTPError(400, "'path' must be relative to the server's root")
        if any(seg in ("..", ".") for seg in path.split("/")):
            raise web.HTTPError(400, "'path' must not contain '..' or '.'")
        try:
            path.encode("utf-8")  # a name of non-UTF-8 bytes arrives with lone surrogates
        except UnicodeEncodeError:
            raise web.HTTPError(
                400, "this notebook's name is not valid UTF-8: rename it to share it"
            ) from None
        cm: Any = self.contents_manager  # jupyter_server leaves these untyped
        if await ensure_async(cm.dir_exists(path)):
            raise web.HTTPError(400, f"{path} is a folder, not a notebook")
        if not path.endswith(".ipynb"):
            raise web.HTTPError(400, "only notebooks (.ipynb) can be shared")
        if not await ensure_async(cm.file_exists(path)) or await ensure_async(cm.is_hidden(path)):
            raise web.HTTPError(404, f"no notebook at {path}")
        # The public way from an API path to a file (the checks above ruled out
        # ".." and absolute paths); the real path must stay inside the root.
        os_path = to_os_path(ApiPath(path), str(self.root()))
        real = Path(os.path.realpath(os_path))  # noqa: ASYNC240 (a local path, no I/O wait)
        if not real.is_relative_to(self.root()):
            raise web.HTTPError(403, f"{path} leads outside the server's root")
        return path, real

    def environment(self, metadata: dict[str, Any] | None) -> dict[str, Any]:
        env = self.sdcc_session.identity()  # the server's one Session: scheduler, options
        kernel = kernelspec_of(metadata)
        if kernel is not None:
            env["kernelspec"] = kernel
        return env

    async def differences(self, env: dict[str, Any]) -> list[dict[str, Any]]:
        """How this session differs from a link's environment: ``{"key", "link", "session"}``
        per difference, ``key`` an option's key, ``"scheduler"`` or ``"kernel"`` (a kernel
        this server lacks; ``link`` its name). Options are compared as a user reads them
        (``sdcc_lab/labels.json``): ``gpus`` 0 and unset are the same; what the link leaves
        unset never differs."""
        found: list[dict[str, Any]] = []
        kernels = [env.get("kernelspec") or {}, *(env.get("kernels") or [])]
        specs: Any = None
        for kernel in kernels:
            if isinstance(kernel, dict) and kernel.get("name"):
                if specs is None:
                    specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
                if kernel["name"] not in specs:
                    name = kernel.get("display_name") or kernel["name"]
                    found.append({"key": "kernel", "link": name, "session": None})
        mine = self.sdcc_session
        if env.get("scheduler") and env.get("scheduler") != mine.scheduler:
            found.append({"key": "scheduler", "link": env["scheduler"], "session": mine.scheduler})
        theirs_opts = env.get("options") or {}
        my_opts = mine.options
        for key in self.client.compared_options:
            theirs, ours = theirs_opts.get(key), my_opts.get(key)
            shown = option_value(key, theirs)
            if shown is not None and shown != option_value(key, ours):
                found.append({"key": key, "link": theirs, "session": ours})
        return found

    @staticmethod
    def mismatch_lines(differences: list[dict[str, Any]]) -> list[str]:
        """The differences in the words the link's page and JupyterLab use (for scripts)."""
        return [difference(d["key"], d["link"], d["session"]) for d in differences]

    def spawn_url(self, env: dict[str, Any]) -> str | None:
        """The hub's spawn page with the link's options (JupyterHub's ``opt-`` query style).

        The hub's form pre-fills them and validates them against the recipient's
        own entitlements; nothing starts until the recipient presses Start.
        """
        user = os.environ.get("JUPYTERHUB_USER")
        if not user:
            return None
        base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        options = dict(env.get("options") or {})
        if env.get("scheduler") == "local":
            options.setdefault("local", True)
        query = {}
        for key, value in options.items():
            if value is None or value == "":
                continue
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            query["opt-" + str(key)] = text
        return url_path_join(base, "hub/spawn", user) + "?" + urlencode(query)


class SharesHandler(ShareAPIHandler):
    """``POST shares`` (share a notebook), ``GET shares`` (my live links)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        expires_in = body.get("expires_in")
        if expires_in is not None and (
            isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0
        ):
            raise web.HTTPError(400, "'expires_in' must be a positive number of seconds")
        audience = body.get("audience")
        if audience is not None and not isinstance(audience, dict):
            # Its names and bounds are the share service's to check (it asks the hub).
            raise web.HTTPError(
                400, "'audience' must be null or an object with 'users' and 'groups' lists"
            )
        if await self.is_folder(body.get("path")):
            await self.share_folder(body["path"], expires_in, audience)
            return
        path, os_path = await self.notebook_file(body.get("path"))
        size = os_path.stat().st_size
        if size > self.client.max_notebook_size:
            raise web.HTTPError(413, f"{path}: {too_big(self.client.max_notebook_size)}")
        metadata = await IOLoop.current().run_in_executor(None, scan_file, os_path)
        env = self.environment(metadata)
        query: dict[str, Any] = {"path": path, "environment": json.dumps(env)}
        if expires_in is not None:
            query["expires_in"] = expires_in
        if audience is not None:
            query["audience"] = json.dumps(audience)
        r = await self.client.call("POST", "api/shares", query=query, upload=os_path)
        share = json.loads(r.body)
        self.shares.live_paths.add(path)
        self.set_status(201)
        self.finish(
            {
                k: share.get(k)
                for k in ("id", "url", "token", "path", "expires_at", "environment", "audience")
            }
        )

    async def share_folder(self, path: str, expires_in: int | None, audience: Any) -> None:
        """``POST shares`` with a folder: pack its files, one share of kind ``folder``."""
        path, os_folder = await self.folder_dir(path)
        try:
            pack, listing = await self.shares.pack(os_folder)
        except FolderTooBig as e:
            raise web.HTTPError(413, f"{path}: {e}") from None
        try:
            env = self.sdcc_session.identity()
            env["kernels"] = await IOLoop.current().run_in_executor(
                None, folder_kernels, os_folder, listing
            )
            query: dict[str, Any] = {"path": path, "environment": json.dumps(env), "kind": "folder"}
            if expires_in is not None:
                query["expires_in"] = expires_in
            if audience is not None:
                query["audience"] = json.dumps(audience)
            r = await self.client.call("POST", "api/shares", query=query, upload=pack)
        finally:
            pack.unlink(missing_ok=True)
        share = json.loads(r.body)
        self.shares.live_paths.add(path)
        self.shares.live_folders.add(path)
        max_files, max_bytes = await self.shares.folder_limits()
        self.set_status(201)
        self.finish(
            {
                **{
                    k: share.get(k)
                    for k in (
                        "id",
                        "url",
                        "token",
                        "path",
                        "expires_at",
                        "environment",
                        "audience",
                        "files",
                    )
                },
                "kind": "folder",
                "left_out": [{"path": p, "reason": why} for p, why in listing.left_out],
                "max_folder_files": max_files,
                "max_folder_size": max_bytes,
            }
        )

    @web.authenticated
    @authorized
    async def get(self) -> None:
        shares, limits = await self.shares.refresh_live_paths()
        self.finish(
            {
                "shares": [
                    {
                        k: s.get(k)
                        for k in (
                            "id",
                            "path",
                            "url",
                            "created_at",
                            "expires_at",
                            "opens",
                            "version",
                            "audience",
                            "kind",
                        )
                    }
                    for s in shares
                ],
                "max_expires_in": limits.get("max_expires_in"),
                "max_folder_files": limits.get("max_folder_files"),
                "max_folder_size": limits.get("max_folder_size"),
            }
        )


class ShareHandler(ShareAPIHandler):
    """``DELETE shares/{id}``: revoke one of my links."""

    @web.authenticated
    @authorized
    async def delete(self, share_id: str) -> None:
        if not SHARE_ID_RE.match(share_id):
            raise web.HTTPError(400, "not a share id")
        await self.client.call("DELETE", f"api/shares/{share_id}")
        with contextlib.suppress(
            ShareServiceError
        ):  # the revoke is done; the list catches up later
            await self.shares.refresh_live_paths()
        self.set_status(204)
        self.finish()


class InboxHandler(ShareAPIHandler):
    """``GET shares/inbox``: shares addressed to me or a group of mine, and links I opened,
    each with its state for me (``new``, ``imported``, ``updated``, ``revoked``, ``expired``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        r = await self.client.call("GET", "api/inbox")
        shares = json.loads(r.body).get("shares") or []
        self.finish({"shares": shares})


class RelayHandler(ShareAPIHandler):
    """A ``GET`` the share service answers for this server's user, passed on as it is
    (its refusals with their status and message, see :class:`ShareClient`)."""

    async def relay(self, path: str, query: dict[str, Any] | None = None) -> None:
        r = await self.client.call("GET", path, query=query)
        self.finish(json.loads(r.body))


class AccessHandler(RelayHandler):
    """``GET shares/{id}/access[?action=import|open|all]``: who imported (or opened)
    which version of my share, and when (the service checks ``action``: 400)."""

    @web.authenticated
    @authorized
    async def get(self, share_id: str) -> None:
        if not SHARE_ID_RE.match(share_id):
            raise web.HTTPError(400, "not a share id")
        action = self.get_argument("action", "import", strip=False)
        await self.relay(f"api/shares/{share_id}/access", {"action": action})


class PeopleHandler(RelayHandler):
    """``GET people?q=``: hub user and group names for the audience field (the service
    checks ``q`` and may be switched off: its 400 and 404 pass through)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.relay("api/people", {"q": self.get_argument("q", "", strip=False)})


class ImportPreviewHandler(ShareAPIHandler):
    """``POST imports/preview {"link"}``: what importing the link would bring (no change)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        token = parse_link(self.json_body().get("link"))
        r = await self.client.call("POST", "api/peek", json_body={"token": token})
        share = json.loads(r.body)
        env = link_environment(share.get("environment"))
        differences = await self.differences(env)
        self.finish(
            {
                "owner": share["owner"],
                "source_path": share["path"],
                "name": notebook_name(share["path"])
                if share.get("kind") != "folder"
                else safe_segment(str(share["path"]).rsplit("/", 1)[-1], "folder"),
                "expires_at": share["expires_at"],
                "environment": env,
                "version": share.get("version"),
                "kind": share.get("kind", "notebook"),
                "files": share.get("files"),
                "mismatches": self.mismatch_lines(differences),
                "differences": differences,
                "spawn_url": self.spawn_url(env),
                "hub_home_url": url_path_join(
                    os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub/home"
                )
                if os.environ.get("JUPYTERHUB_USER")
                else None,
            }
        )


class ImportsHandler(ShareAPIHandler):
    """``POST imports {"link"}``: copy the link's last saved version into my folder."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        token = parse_link(self.json_body().get("link"))
        # What it is first: a clear 403/410, and 413 before anything is downloaded.
        peek = json.loads(
            (await self.client.call("POST", "api/peek", json_body={"token": token})).body
        )
        if peek.get("kind") == "folder":
            await self.import_folder(token, peek)
            return
        if int(peek.get("size") or 0) > self.client.max_notebook_size:
            raise web.HTTPError(413, too_big(self.client.max_notebook_size))
        root = self.root()
        base = root / self.client.import_dir
        base.mkdir(parents=True, exist_ok=True)
        if not Path(os.path.realpath(base)).is_relative_to(root):  # noqa: ASYNC240 (a local path)
            raise web.HTTPError(403, f"{self.client.import_dir} leads outside the server's root")
        fd, part_name = tempfile.mkstemp(prefix=".sdcc-import-", suffix=".part", dir=base)
        part_path = Path(part_name)
        try:
            with os.fdopen(fd, "wb") as part:
                download = Download(part, self.client.max_notebook_size)
                try:
                    await self.client.call(
                        "POST",
                        "api/fetch",
                        json_body={"token": token},
                        streaming_callback=download.on_chunk,
                        header_callback=download.on_header,
                    )
                except ShareServiceError as e:
                    try:
                        message = str(json.loads(bytes(download.error))["message"])
                    except (ValueError, KeyError, TypeError):
                        raise e from None
                    raise ShareServiceError(e.status_code, message) from None
            if download.problem == "too big":
                raise web.HTTPError(413, too_big(self.client.max_notebook_size))
            if download.stream is None or download.share is None:
                raise web.HTTPError(502, "the share service sent no notebook")
            if download.stream.too_deep:  # this server's own limit, whatever the service's
                raise web.HTTPError(422, f"this notebook cannot be imported: {download.problem}")
            try:
                if download.problem:
                    raise InvalidNotebook(download.problem)
                download.stream.close()
            except InvalidNotebook as e:
                raise web.HTTPError(
                    502, f"the share service sent an invalid notebook: {e}"
                ) from None
            share = download.share
            result = await self.place(base, part_path, share, download.sha.hexdigest())
        finally:
            part_path.unlink(missing_ok=True)  # noqa: ASYNC240 (one unlink)
        env = link_environment(share.get("environment"))
        rel = result[1].relative_to(root).as_posix()
        differences = await self.differences(env)
        self.set_status(200 if result[0] == "unchanged" else 201)
        self.finish(
            {
                "path": rel,
                "action": result[0],
                "owner": share["owner"],
                "source_path": share["path"],
                "environment": env,
                "mismatches": self.mismatch_lines(differences),
                "differences": differences,
                "version": share.get("version"),
                "spawn_url": self.spawn_url(env),
            }
        )

    async def import_folder(self, token: str, peek: dict[str, Any]) -> None:
        """Import a folder share under ``{import_dir}/{owner}/{folder}/``, file by file.

        The pack is downloaded to a part file and checked whole (names, caps, regular
        files only) before any file is written; then each file follows the rules of a
        single notebook's import (:func:`sdcc_lab.server.imports.place_folder`).
        """
        max_files, max_bytes = await self.shares.folder_limits()
        limit = pack_limit(max_files, max_bytes)
        if int(peek.get("size") or 0) > limit:
            raise web.HTTPError(413, too_many_bytes(max_bytes, int(peek["size"])))
        root = self.root()
        owner_dir = root / self.client.import_dir / safe_segment(str(peek["owner"]), "unknown")
        owner_dir.mkdir(parents=True, exist_ok=True)
        if not Path(os.path.realpath(owner_dir)).is_relative_to(root):  # noqa: ASYNC240 (a local path)
            raise web.HTTPError(403, f"{self.client.import_dir} leads outside the server's root")
        fd, part_name = tempfile.mkstemp(prefix=".sdcc-import-", suffix=".part", dir=owner_dir)
        part_path = Path(part_name)
        loop = IOLoop.current()
        try:
            with os.fdopen(fd, "wb") as part:
                download = PackDownload(part, limit)
                try:
                    await self.client.call(
                        "POST",
                        "api/fetch",
                        json_body={"token": token},
                        streaming_callback=download.on_chunk,
                        header_callback=download.on_header,
                    )
                except ShareServiceError as e:
                    try:
                        message = str(json.loads(bytes(download.error))["message"])
                    except (ValueError, KeyError, TypeError):
                        raise e from None
                    raise ShareServiceError(e.status_code, message) from None
            if download.problem == "too big":
                raise web.HTTPError(413, too_many_bytes(max_bytes, download.size))
            if download.share is None:
                raise web.HTTPError(502, "the share service sent no folder")
            share = download.share
            try:
                await loop.run_in_executor(None, read_manifest, part_path, max_files, max_bytes)
            except FolderTooBig as e:
                raise web.HTTPError(413, str(e)) from None
            except BadPack as e:
                raise web.HTTPError(502, f"the share service sent an invalid folder: {e}") from None
            dest = owner_dir / safe_segment(str(share["path"]).rsplit("/", 1)[-1], "folder")
            async with self.shares.import_lock:
                existed = dest.is_dir()
                if dest.exists() and not existed:
                    rel = dest.relative_to(root).as_posix()
                    raise web.HTTPError(
                        409, f"{rel} is a file: rename it to import this folder there"
                    )
                dest.mkdir(parents=True, exist_ok=True)
                if not Path(os.path.realpath(dest)).is_relative_to(root):  # noqa: ASYNC240 (a local path)
                    raise web.HTTPError(403, "the import folder leads outside the server's root")
                record = ImportRecord(Path(self.client.record_file))
                try:
                    placed = await loop.run_in_executor(
                        None, place_folder, record, dest, part_path, share
                    )
                finally:
                    record.save()
        finally:
            part_path.unlink(missing_ok=True)  # noqa: ASYNC240 (one unlink)
        env = link_environment(share.get("environment"))
        differences = await self.differences(env)
        actions = {p.action for p in placed}
        if not existed:
            action = "created"
        elif actions <= {"unchanged", "skipped"}:
            action = "unchanged"
        else:
            action = "refreshed"
        self.set_status(200 if action == "unchanged" else 201)
        self.finish(
            {
                "path": dest.relative_to(root).as_posix(),
                "action": action,
                "kind": "folder",
                "files": [{"path": p.path, "action": p.action, "saved_as": p.name} for p in placed],
                "owner": share["owner"],
                "source_path": share["path"],
                "environment": env,
                "mismatches": self.mismatch_lines(differences),
                "differences": differences,
                "version": share.get("version"),
                "spawn_url": self.spawn_url(env),
            }
        )

    async def place(
        self, base: Path, part: Path, share: dict[str, Any], sha256: str
    ) -> tuple[str, Path]:
        """Decide where the copy goes and move it there (one import at a time)."""
        folder = base / safe_segment(str(share["owner"]), "unknown")
        name = notebook_name(str(share["path"]))
        try:
            async with self.shares.import_lock:
                folder.mkdir(parents=True, exist_ok=True)
                if not Path(os.path.realpath(folder)).is_relative_to(self.root()):  # noqa: ASYNC240 (a local path)
                    raise web.HTTPError(403, "the import folder leads outside the server's root")
                record = ImportRecord(Path(self.client.record_file))
                decision = await IOLoop.current().run_in_executor(
                    None, record.decide, folder, name, share
                )
                target = folder / decision.name
                if decision.action != "unchanged":
                    os.chmod(part, 0o644 & ~umask())
                    os.replace(part, target)
                    record.remember(target, share, sha256)
                    record.save()
                return decision.action, target
        except (OSError, UnicodeError) as e:
            # A name this file system refuses (names are made to fit 255 UTF-8 bytes,
            # but not every file system takes those): a clear 400, nothing written.
            if isinstance(e, OSError) and e.errno not in (
                errno.ENAMETOOLONG,
                errno.EILSEQ,
                errno.EINVAL,
            ):
                raise
            raise web.HTTPError(
                400,
                f"the copy cannot be named {name!r} on this server's file system; "
                "ask the sender to rename the notebook",
            ) from None


def folder_kernels(folder: Path, listing: FolderListing) -> list[dict[str, str]]:
    """The kernels of a folder's notebooks (each once), read by streaming each notebook;
    a file named ``.ipynb`` that is not a notebook travels as data and names none."""
    found: list[dict[str, str]] = []
    for rel, _ in listing.files:
        if not rel.endswith(".ipynb"):
            continue
        try:
            kernel = kernelspec_of(scan_file(folder / rel))
        except (web.HTTPError, OSError):
            continue
        if kernel is not None and kernel not in found:
            found.append(kernel)
    return found


def share_handlers(base_url: str) -> list[tuple[str, type[ShareAPIHandler]]]:
    api = url_path_join(base_url, API_PREFIX)
    return [
        (url_path_join(api, "shares"), SharesHandler),
        (url_path_join(api, "shares", "inbox"), InboxHandler),  # before shares/{id}
        (url_path_join(api, "shares", "([^/]+)", "access"), AccessHandler),
        (url_path_join(api, "shares", "([^/]+)"), ShareHandler),
        (url_path_join(api, "imports", "preview"), ImportPreviewHandler),
        (url_path_join(api, "imports"), ImportsHandler),
        (url_path_join(api, "people"), PeopleHandler),
    ]


__all__ = ["link_environment", "parse_link", "setup_shares", "share_handlers"]
