"""Keeping a shared notebook's snapshot current: the post-save hook and renames.

After each save of a notebook with a live share, the server pushes the saved
file to the share service, off the save's path (a failed push is logged,
never fails the save). A save of any file below a shared folder pushes the
folder, packed anew (one snapshot per save). A renamed file (or folder) keeps
its shares.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jupyter_server.utils import ApiPath, to_os_path
from tornado.ioloop import IOLoop

from ..folderpack import FolderListing, list_folder, write_pack
from ..nbstream import too_big
from .share_client import ShareClient, ShareServiceError

LIVE_PATHS_TTL = 60.0


class Shares:
    """Per-server state: the client, the live paths it shares, the import lock."""

    def __init__(self, server_app: Any, client: ShareClient) -> None:
        self.app = server_app
        self.client = client
        self.log = server_app.log
        self.live_paths: set[str] = set()
        self.live_folders: set[str] = set()  # the live paths that are folder shares
        self.limits: dict[str, Any] = {}  # the service's, as GET api/shares last said
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
        self.live_folders = {s["path"] for s in shares if s.get("kind") == "folder"}
        self.live_checked = time.monotonic()
        self.limits = {k: v for k, v in data.items() if k != "shares"}
        return shares, self.limits

    async def folder_limits(self) -> tuple[int, int]:
        """The service's caps on a folder share: (files, bytes)."""
        if "max_folder_files" not in self.limits:
            await self.refresh_live_paths()
        return int(self.limits["max_folder_files"]), int(self.limits["max_folder_size"])

    async def pack(self, folder: Path) -> tuple[Path, FolderListing]:
        """Pack ``folder`` into a temporary file (outside the user's folders), off the loop.

        Raises :class:`sdcc_lab.folderpack.FolderTooBig` (before anything is written)
        past the service's caps. The caller removes the file.
        """
        max_files, max_bytes = await self.folder_limits()
        loop = IOLoop.current()
        listing = await loop.run_in_executor(None, list_folder, folder, max_files, max_bytes)
        fd, name = tempfile.mkstemp(prefix="sdcc-folder-", suffix=".tar")
        try:
            with os.fdopen(fd, "wb") as out:
                await loop.run_in_executor(None, write_pack, folder, listing, out)
        except BaseException:
            Path(name).unlink(missing_ok=True)  # noqa: ASYNC240 (one unlink)
            raise
        return Path(name), listing

    async def is_shared(self, path: str) -> bool:
        if time.monotonic() - self.live_checked > LIVE_PATHS_TTL:
            try:
                await self.refresh_live_paths()
            except ShareServiceError as e:
                self.log.warning("sdcc_lab: could not list live shares: %s", e.log_message)
                self.live_checked = time.monotonic()
        return path in self.live_paths

    # --- post-save hook and renames -----------------------------------------------
    def post_save(
        self, model: dict[str, Any], os_path: str, contents_manager: Any, **_: Any
    ) -> None:
        """Registered with the contents manager; never fails (or slows) a save."""
        path = (model or {}).get("path") or ""
        if model.get("type") == "notebook" or path.endswith(".ipynb"):
            IOLoop.current().add_callback(self.push_soon, path, os_path)
        IOLoop.current().add_callback(self.push_folders_soon, path, contents_manager)

    async def push_soon(self, path: str, os_path: str) -> None:
        await self._coalesced(path, lambda: self.push(path, Path(os_path)))

    async def push_folders_soon(self, path: str, contents_manager: Any) -> None:
        """Push each live folder share that holds the saved file ``path``."""
        await self.is_shared(path)  # refreshes the live folders when they are stale
        for folder in sorted(self.live_folders):
            if path.startswith(folder.rstrip("/") + "/"):
                await self._coalesced(folder, self._folder_pusher(folder, contents_manager))

    def _folder_pusher(self, folder: str, contents_manager: Any) -> Callable[[], Awaitable[None]]:
        return lambda: self.push_folder(folder, contents_manager)

    async def _coalesced(self, path: str, push: Callable[[], Awaitable[None]]) -> None:
        """Run ``push`` for ``path``: once at a time, once more if saved meanwhile; never raises."""
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
                    await push()
                    if not self._pushing.get(path):
                        break
                    self._pushing[path] = False
            finally:
                self._pushing.pop(path, None)
        except Exception as e:  # noqa: BLE001 (logged, never raised into the save)
            self.log.warning(
                "sdcc_lab: the snapshot of shared %s was not updated: %s",
                path,
                getattr(e, "log_message", None) or e,
            )

    async def push_folder(self, folder: str, contents_manager: Any) -> None:
        # Local path checks, no I/O wait worth a thread.
        root = os.path.realpath(contents_manager.root_dir)  # noqa: ASYNC240
        os_folder = Path(os.path.realpath(to_os_path(ApiPath(folder), root)))  # noqa: ASYNC240
        if not os_folder.is_relative_to(root) or not os_folder.is_dir():  # noqa: ASYNC240
            raise ValueError(f"{folder} is no longer a folder inside the server's root")
        pack, _ = await self.pack(os_folder)
        try:
            await self.client.call(
                "PUT", "api/snapshots", query={"path": folder, "kind": "folder"}, upload=pack
            )
        finally:
            pack.unlink(missing_ok=True)
        self.log.info("sdcc_lab: pushed the saved version of shared folder %s", folder)

    async def push(self, path: str, os_path: Path) -> None:
        size = os_path.stat().st_size  # noqa: ASYNC240 (one stat)
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
            self.live_paths.add(new + p[len(old) :])
            if p in self.live_folders:
                self.live_folders.discard(p)
                self.live_folders.add(new + p[len(old) :])
        task = asyncio.ensure_future(self._rename_remote(old, new))
        self._renames.add(task)
        task.add_done_callback(self._renames.discard)
        await task

    async def _rename_remote(self, old: str, new: str) -> None:
        try:
            await self.client.call("POST", "api/renames", json_body={"from": old, "to": new})
            await self.refresh_live_paths()
        except ShareServiceError as e:
            self.log.warning(
                "sdcc_lab: shares of %s did not follow its rename: %s", old, e.log_message
            )


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
