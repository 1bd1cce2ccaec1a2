"""Share links in the single-user server: the REST API and the save/rename hooks.

``POST/GET shares``, ``DELETE shares/{id}``, ``POST imports/preview`` and
``POST imports`` (see ``docs/api.md``). The share service does the signing,
the records and the snapshots (:mod:`sdcc_lab.server.share_client`); this
module checks paths against the contents manager, reads and writes the files,
and compares a link's environment with this session.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web
from tornado.httputil import HTTPHeaders
from tornado.ioloop import IOLoop

from ..share.nbstream import InvalidNotebook, NotebookStream, too_big
from .handlers import API_PREFIX, SDCCAPIHandler
from .imports import ImportRecord, notebook_name, safe_segment
from .share_client import CHUNK, ShareClient, ShareServiceError

TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-.]{16,8192}$")
SHARE_ID_RE = re.compile(r"^[0-9a-f]{1,32}$")
PROVENANCE_KEY = "sdcc_lab_share"
LIVE_PATHS_TTL = 60.0


def parse_link(link: Any) -> str:
    """The token in a share link (full URL, path, ``?sdcc-share=`` URL or bare token)."""
    if not isinstance(link, str) or not link.strip() or len(link) > 16384:
        raise web.HTTPError(400, "'link' must be a share link")
    link = link.strip()
    token = link
    if "/" in link or "?" in link:
        parts = urlsplit(link)
        query = parse_qs(parts.query).get("sdcc-share")
        if query:
            token = query[0]
        elif "/open/" in parts.path:
            token = parts.path.rsplit("/open/", 1)[1].strip("/")
        else:
            raise web.HTTPError(400, "this is not a share link")
    if not TOKEN_RE.match(token):
        raise web.HTTPError(400, "this is not a share link")
    return token


class Shares:
    """Per-server state: the client, the live paths it shares, the import lock."""

    def __init__(self, server_app: Any, client: ShareClient) -> None:
        self.app = server_app
        self.client = client
        self.log = server_app.log
        self.live_paths: set[str] = set()
        self.live_checked = 0.0
        self.import_lock = asyncio.Lock()
        self._pushing: dict[str, bool] = {}
        self._renames: set[asyncio.Future[None]] = set()

    # --- live paths ---------------------------------------------------------------
    async def refresh_live_paths(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The caller's live shares (and the service's limits), remembering their paths."""
        r = await self.client.call("GET", "api/shares")
        data = json.loads(r.body)
        shares = list(data["shares"])
        self.live_paths = {s["path"] for s in shares}
        self.live_checked = time.monotonic()
        return shares, {k: v for k, v in data.items() if k != "shares"}

    async def is_shared(self, path: str) -> bool:
        if time.monotonic() - self.live_checked > LIVE_PATHS_TTL:
            try:
                await self.refresh_live_paths()
            except ShareServiceError as e:
                self.log.warning("sdcc_lab: could not list live shares: %s", e.log_message)
                self.live_checked = time.monotonic()
        return path in self.live_paths

    # --- post-save hook and renames -----------------------------------------------
    def post_save(self, model: dict[str, Any], os_path: str, contents_manager: Any, **_: Any) -> None:
        """Registered with the contents manager; never fails (or slows) a save."""
        path = (model or {}).get("path") or ""
        if model.get("type") == "notebook" or path.endswith(".ipynb"):
            IOLoop.current().add_callback(self.push_soon, path, os_path)

    async def push_soon(self, path: str, os_path: str) -> None:
        try:
            if self._renames:  # the service must know a file's new name before its new version
                await asyncio.gather(*list(self._renames), return_exceptions=True)
            if not await self.is_shared(path):
                return
            if path in self._pushing:  # one push in flight: push once more after it
                self._pushing[path] = True
                return
            self._pushing[path] = False
            try:
                while True:
                    await self.push(path, Path(os_path))
                    if not self._pushing.get(path):
                        break
                    self._pushing[path] = False
            finally:
                self._pushing.pop(path, None)
        except Exception as e:  # noqa: BLE001 (logged, never raised into the save)
            self.log.warning("sdcc_lab: the snapshot of shared %s was not updated: %s", path,
                             getattr(e, "log_message", None) or e)

    async def push(self, path: str, os_path: Path) -> None:
        size = os_path.stat().st_size
        if size > self.client.max_notebook_size:
            raise ValueError(f"{path}: {too_big(self.client.max_notebook_size)}")
        await self.client.call("PUT", "api/snapshots", query={"path": path}, upload=os_path)
        self.log.info("sdcc_lab: pushed the saved version of shared %s", path)

    async def on_contents_event(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("action") != "rename":
            return
        old, new = data.get("source_path") or "", data.get("path") or ""
        old_prefix = old.rstrip("/") + "/"
        affected = {p for p in self.live_paths if p == old or p.startswith(old_prefix)}
        stale = time.monotonic() - self.live_checked > LIVE_PATHS_TTL
        if not affected and not stale:
            return
        # Follow at once here, so that a save right after the rename finds the new path.
        for p in affected:
            self.live_paths.discard(p)
            self.live_paths.add(new + p[len(old):])
        task = asyncio.ensure_future(self._rename_remote(old, new))
        self._renames.add(task)
        task.add_done_callback(self._renames.discard)
        await task

    async def _rename_remote(self, old: str, new: str) -> None:
        try:
            await self.client.call("POST", "api/renames", json_body={"from": old, "to": new})
            await self.refresh_live_paths()
        except ShareServiceError as e:
            self.log.warning("sdcc_lab: shares of %s did not follow its rename: %s", old, e.log_message)


class ShareAPIHandler(SDCCAPIHandler):
    @property
    def shares(self) -> Shares:
        return self.settings["sdcc_lab_shares"]

    @property
    def client(self) -> ShareClient:
        return self.shares.client

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"")
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def root(self) -> Path:
        root = getattr(self.contents_manager, "root_dir", None)
        if not root:
            raise web.HTTPError(400, "sharing needs a file-based contents manager")
        return Path(os.path.realpath(root))

    async def notebook_file(self, path: Any) -> tuple[str, Path]:
        """Check ``path`` (API path) the way a user would expect; its OS path."""
        if not isinstance(path, str) or not path.strip():
            raise web.HTTPError(400, "'path' must name a notebook")
        if path.startswith("/") or os.path.isabs(path) or "\\" in path or "\0" in path:
            raise web.HTTPError(400, "'path' must be relative to the server's root")
        if any(seg in ("..", ".") for seg in path.split("/")):
            raise web.HTTPError(400, "'path' must not contain '..' or '.'")
        cm = self.contents_manager
        if await ensure_async(cm.dir_exists(path)):
            raise web.HTTPError(400, f"{path} is a folder, not a notebook")
        if not path.endswith(".ipynb"):
            raise web.HTTPError(400, "only notebooks (.ipynb) can be shared")
        if not await ensure_async(cm.file_exists(path)) or await ensure_async(cm.is_hidden(path)):
            raise web.HTTPError(404, f"no notebook at {path}")
        get_os_path = getattr(cm, "_get_os_path", None)
        if get_os_path is None:
            raise web.HTTPError(400, "sharing needs a file-based contents manager")
        os_path = Path(get_os_path(path))
        real = Path(os.path.realpath(os_path))
        if not real.is_relative_to(self.root()):
            raise web.HTTPError(403, f"{path} leads outside the server's root")
        return path, real

    def environment(self, metadata: dict[str, Any] | None) -> dict[str, Any]:
        identity = self.session_identity
        env: dict[str, Any] = {"scheduler": identity.get("scheduler"),
                               "options": dict(identity.get("options") or {})}
        kernel = (metadata or {}).get("kernelspec")
        if isinstance(kernel, dict):
            env["kernelspec"] = {k: kernel.get(k) for k in ("name", "display_name", "language")
                                 if isinstance(kernel.get(k), str)}
        return env

    async def mismatches(self, env: dict[str, Any]) -> list[str]:
        found: list[str] = []
        kernel = env.get("kernelspec") or {}
        if isinstance(kernel, dict) and kernel.get("name"):
            specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
            if kernel["name"] not in specs:
                found.append(
                    f"kernel {kernel.get('display_name') or kernel['name']} ({kernel['name']}) "
                    "is not available on your server"
                )
        mine = self.session_identity
        if env.get("scheduler") and env.get("scheduler") != mine.get("scheduler"):
            found.append(f"scheduler: {env.get('scheduler')} in the link, {mine.get('scheduler')} in your session")
        theirs_opts = env.get("options") or {}
        my_opts = mine.get("options") or {}
        for key in self.client.compared_options:
            theirs, ours = theirs_opts.get(key), my_opts.get(key)
            if theirs not in (None, "") and theirs != ours:
                found.append(f"{key}: {theirs} in the link, {ours if ours not in (None, '') else 'none'} in your session")
        return found

    def spawn_url(self, env: dict[str, Any]) -> str | None:
        """The hub's spawn page with the link's options, for a matching session."""
        user = os.environ.get("JUPYTERHUB_USER")
        if not user:
            return None
        base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
        query = {"scheduler": env.get("scheduler") or "local"}
        for key, value in (env.get("options") or {}).items():
            if value is not None:
                query[str(key)] = str(value)
        return url_path_join(base, "hub/spawn", user) + "?" + urlencode(query)


class SharesHandler(ShareAPIHandler):
    """``POST shares`` (share a notebook), ``GET shares`` (my live links)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        expires_in = body.get("expires_in")
        if expires_in is not None and (isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0):
            raise web.HTTPError(400, "'expires_in' must be a positive number of seconds")
        path, os_path = await self.notebook_file(body.get("path"))
        size = os_path.stat().st_size
        if size > self.client.max_notebook_size:
            raise web.HTTPError(413, f"{path}: {too_big(self.client.max_notebook_size)}")
        metadata = await IOLoop.current().run_in_executor(None, scan_file, os_path)
        env = self.environment(metadata)
        query: dict[str, Any] = {"path": path, "environment": json.dumps(env)}
        if expires_in is not None:
            query["expires_in"] = expires_in
        r = await self.client.call("POST", "api/shares", query=query, upload=os_path)
        share = json.loads(r.body)
        self.shares.live_paths.add(path)
        self.set_status(201)
        self.finish({k: share[k] for k in ("id", "url", "token", "path", "expires_at", "environment")})

    @web.authenticated
    @authorized
    async def get(self) -> None:
        shares, limits = await self.shares.refresh_live_paths()
        self.finish({
            "shares": [
                {k: s.get(k) for k in ("id", "path", "url", "created_at", "expires_at", "opens")}
                for s in shares
            ],
            "max_expires_in": limits.get("max_expires_in"),
        })


class ShareHandler(ShareAPIHandler):
    """``DELETE shares/{id}``: revoke one of my links."""

    @web.authenticated
    @authorized
    async def delete(self, share_id: str) -> None:
        if not SHARE_ID_RE.match(share_id):
            raise web.HTTPError(400, "not a share id")
        await self.client.call("DELETE", f"api/shares/{share_id}")
        try:
            await self.shares.refresh_live_paths()
        except ShareServiceError:
            pass
        self.set_status(204)
        self.finish()


class ImportPreviewHandler(ShareAPIHandler):
    """``POST imports/preview {"link"}``: what importing the link would bring (no change)."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        token = parse_link(self.json_body().get("link"))
        r = await self.client.call("POST", "api/peek", json_body={"token": token})
        share = json.loads(r.body)
        env = share.get("environment") or {}
        self.finish({
            "owner": share["owner"], "source_path": share["path"], "name": notebook_name(share["path"]),
            "expires_at": share["expires_at"], "environment": env,
            "mismatches": await self.mismatches(env), "spawn_url": self.spawn_url(env),
            "hub_home_url": url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "hub/home")
            if os.environ.get("JUPYTERHUB_USER") else None,
        })


class _Download:
    """Streams the service's answer into a part file, adding provenance to the metadata."""

    def __init__(self, part: Any, limit: int) -> None:
        self.part = part
        self.limit = limit
        self.headers = HTTPHeaders()
        self.status = 0
        self.share: dict[str, Any] | None = None
        self.stream: NotebookStream | None = None
        self.sha = hashlib.sha256()
        self.size = 0
        self.error = bytearray()
        self.problem: str | None = None

    def on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.headers = HTTPHeaders()
            self.status = int(line.split(" ", 2)[1])
        elif line.strip():
            self.headers.parse_line(line)

    def on_chunk(self, chunk: bytes) -> None:
        if self.status != 200:
            if len(self.error) < 65536:
                self.error += chunk
            return
        if self.problem:
            return
        if self.stream is None:
            self.share = json.loads(self.headers.get("X-Sdcc-Share", "{}"))
            provenance = {k: self.share.get(k) for k in ("id", "owner", "path", "version")}
            provenance["imported_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.stream = NotebookStream(inject=(PROVENANCE_KEY, provenance))
        self.size += len(chunk)
        if self.size > self.limit:
            self.problem = "too big"
            return
        try:
            out = self.stream.feed(chunk)
        except InvalidNotebook as e:
            self.problem = str(e)
            return
        self.sha.update(out)
        self.part.write(out)


class ImportsHandler(ShareAPIHandler):
    """``POST imports {"link"}``: copy the link's last saved version into my folder."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        token = parse_link(self.json_body().get("link"))
        # What it is first: a clear 403/410, and 413 before anything is downloaded.
        peek = json.loads((await self.client.call("POST", "api/peek", json_body={"token": token})).body)
        if int(peek.get("size") or 0) > self.client.max_notebook_size:
            raise web.HTTPError(413, too_big(self.client.max_notebook_size))
        root = self.root()
        base = root / self.client.import_dir
        base.mkdir(parents=True, exist_ok=True)
        if not Path(os.path.realpath(base)).is_relative_to(root):
            raise web.HTTPError(403, f"{self.client.import_dir} leads outside the server's root")
        fd, part_name = tempfile.mkstemp(prefix=".sdcc-import-", suffix=".part", dir=base)
        part_path = Path(part_name)
        try:
            with os.fdopen(fd, "wb") as part:
                download = _Download(part, self.client.max_notebook_size)
                try:
                    await self.client.call(
                        "POST", "api/fetch", json_body={"token": token},
                        streaming_callback=download.on_chunk, header_callback=download.on_header,
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
            try:
                if download.problem:
                    raise InvalidNotebook(download.problem)
                download.stream.close()
            except InvalidNotebook as e:
                raise web.HTTPError(502, f"the share service sent an invalid notebook: {e}") from None
            share = download.share
            result = await self.place(base, part_path, share, download.sha.hexdigest())
        finally:
            part_path.unlink(missing_ok=True)
        env = share.get("environment") or {}
        rel = result[1].relative_to(root).as_posix()
        self.set_status(200 if result[0] == "unchanged" else 201)
        self.finish({
            "path": rel, "action": result[0], "owner": share["owner"], "source_path": share["path"],
            "environment": env, "mismatches": await self.mismatches(env),
            "version": share.get("version"), "spawn_url": self.spawn_url(env),
        })

    async def place(self, base: Path, part: Path, share: dict[str, Any], sha256: str) -> tuple[str, Path]:
        """Decide where the copy goes and move it there (one import at a time)."""
        folder = base / safe_segment(str(share["owner"]), "unknown")
        name = notebook_name(str(share["path"]))
        async with self.shares.import_lock:
            folder.mkdir(parents=True, exist_ok=True)
            if not Path(os.path.realpath(folder)).is_relative_to(self.root()):
                raise web.HTTPError(403, "the import folder leads outside the server's root")
            record = ImportRecord(Path(self.client.record_file))
            decision = await IOLoop.current().run_in_executor(None, record.decide, folder, name, share)
            target = folder / decision.name
            if decision.action != "unchanged":
                os.chmod(part, 0o644 & ~_umask())
                os.replace(part, target)
                record.remember(target, share, sha256)
                record.save()
            return decision.action, target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def scan_file(path: Path) -> dict[str, Any] | None:
    """Check that a file is a notebook (streaming); its top-level metadata."""
    stream = NotebookStream()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                stream.feed(chunk)
        stream.close()
    except InvalidNotebook as e:
        raise web.HTTPError(400, f"not a valid notebook: {e}") from None
    return stream.metadata


def share_handlers(base_url: str) -> list[tuple[str, type[ShareAPIHandler]]]:
    api = url_path_join(base_url, API_PREFIX)
    return [
        (url_path_join(api, "shares"), SharesHandler),
        (url_path_join(api, "shares", "([^/]+)"), ShareHandler),
        (url_path_join(api, "imports", "preview"), ImportPreviewHandler),
        (url_path_join(api, "imports"), ImportsHandler),
    ]


def setup_shares(server_app: Any) -> Shares:
    """Create the per-server share state and hook it into the contents manager."""
    client = ShareClient(parent=server_app)
    shares = Shares(server_app, client)
    cm = server_app.contents_manager
    cm.register_post_save_hook(shares.post_save)
    logger = getattr(cm, "event_logger", None)
    if logger is not None and hasattr(cm, "event_schema_id"):
        logger.add_listener(schema_id=cm.event_schema_id, listener=shares.on_contents_event)
    return shares
