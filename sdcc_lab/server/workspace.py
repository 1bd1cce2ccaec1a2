"""``sdcc-lab/api/workspace``: the session's JupyterLab workspace, kept for the next start.

Where it is kept. JupyterLab already keeps each workspace (open documents and
their layout) in its workspaces folder, ``LabApp.workspaces_dir`` (by default
``~/.jupyter/lab/workspaces`` in the user's home, which a batch job shares with
every other session), and writes it there through its workspaces API on every
change of the layout. But the workspace a plain ``/lab`` opens, ``default``,
is not a stable place: a second tab moves to ``auto-X`` with ``?reset``, and
nothing ties the two to the portal. So the hub opens every session in one
named workspace, ``/lab/workspaces/sdcc-lab`` (``FormSpawner.restore_workspace``,
``workspace_name``): JupyterLab loads it at the start and writes each change
into it, and "Start again" or any later start, whatever its options, opens it
again.

What the layout lacks is the kernel each notebook ran. This module keeps that:
``<workspace>.sdcc-kernels.json`` beside the workspace file holds, for each
notebook open in the workspace, the kernel its session runs (checked every
``check_interval`` seconds, written only when it changed; a notebook whose
kernel has gone keeps the one recorded, so the server's own shutdown at the
job's end does not erase it). The frontend (``src/workspace/``) reads it once
per server start and starts those kernels in the reopened notebooks.

The user's switch ("Reopen my workspace", a JupyterLab setting) reaches this
file through ``PUT``: with it off, the next server start empties the portal's
workspace and the record before any browser loads it, so the session opens
blank. The admin's switch is the hub's (``c.FormSpawner.restore_workspace``):
without the workspace URL this module stays idle.

- ``GET sdcc-lab/api/workspace`` -> ``{"available", "reason", "workspace",
  "restore", "started", "saved", "kernels": [{"path", "kernel"}]}``
- ``PUT sdcc-lab/api/workspace`` ``{"restore": bool}`` -> the same answer
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..jsonbody import json_object
from .handlers import API_PREFIX, SDCCAPIHandler

# The URL the hub gives a server whose workspace it keeps: /lab/workspaces/NAME.
WORKSPACE_URL = re.compile(r"^/?lab/workspaces/(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,63})/?$")
RECORD_SUFFIX = ".sdcc-kernels.json"
# JupyterLab's layout restorer keys an open notebook as "notebook:PATH".
NOTEBOOK_KEY = "notebook:"
NOT_OPENED = (
    "This server was not opened in the portal's workspace (the hub's "
    "FormSpawner.restore_workspace is off, or the server was started without a hub)."
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _dock_order(node: Any, found: list[str]) -> None:
    """The widget ids of a dock layout (tab areas within split areas), left to right."""
    if isinstance(node, dict):
        for part in ("widgets", "children"):
            for child in node.get(part) or ():
                if isinstance(child, str):
                    found.append(child)
                else:
                    _dock_order(child, found)


def open_notebooks(workspace: dict[str, Any]) -> list[str]:
    """The paths of the notebooks a workspace file has open: in the order of the main
    area's tabs (JupyterLab stores the data keys sorted), then any others."""
    data = workspace.get("data")
    if not isinstance(data, dict):
        return []
    main = data.get("layout-restorer:data")
    tabs: list[str] = []
    if isinstance(main, dict) and isinstance(main.get("main"), dict):
        _dock_order(main["main"].get("dock"), tabs)
    rank = {key: i for i, key in reversed(list(enumerate(tabs)))}
    paths: list[str] = []
    for key, value in sorted(data.items(), key=lambda kv: rank.get(kv[0], len(rank))):
        if not isinstance(key, str) or not key.startswith(NOTEBOOK_KEY):
            continue
        path = value.get("data", {}).get("path") if isinstance(value, dict) else None
        if not isinstance(path, str):
            path = key[len(NOTEBOOK_KEY) :]
        if path and path not in paths:
            paths.append(path)
    return paths


def merge_kernels(
    open_paths: list[str], running: dict[str, str], recorded: dict[str, str]
) -> dict[str, str]:
    """Each open notebook's kernel: the one running now, else the one recorded before."""
    kernels: dict[str, str] = {}
    for path in open_paths:
        kernel = running.get(path) or recorded.get(path)
        if kernel:
            kernels[path] = kernel
    return kernels


class WorkspaceKeeper(LoggingConfigurable):
    """Keeps the kernels of the portal's workspace (``c.WorkspaceKeeper.…``)."""

    check_interval = Float(
        5.0,
        help="""Seconds between two checks of which kernel each open notebook runs (one
        read of the workspace file when it changed and of the server's session list; the
        record is written only when it changed). Example::

            c.WorkspaceKeeper.check_interval = 10
        """,
    ).tag(config=True)

    def __init__(self, server_app: Any, **kwargs: Any) -> None:
        super().__init__(parent=server_app, **kwargs)
        self.server_app = server_app
        self.started = _now()
        self._checker: PeriodicCallback | None = None
        self._workspace_stamp: tuple[int, int] | None = None
        self._open: list[str] = []

    # --- where ---------------------------------------------------------------------------
    @property
    def workspace(self) -> str | None:
        """The portal workspace's name, from the server's default URL (the hub's choice)."""
        url = str(getattr(self.server_app, "default_url", "") or "")
        base = str(getattr(self.server_app, "base_url", "") or "/")
        if base != "/" and url.startswith(base):
            url = url[len(base) - 1 :]  # the server joined its base URL in front
        match = WORKSPACE_URL.match(url) or WORKSPACE_URL.match(
            os.environ.get("JUPYTERHUB_DEFAULT_URL", "")
        )
        return match.group("name") if match else None

    @property
    def workspaces_dir(self) -> Path:
        """JupyterLab's workspaces folder, as the running JupyterLab has it."""
        manager = getattr(self.server_app, "extension_manager", None)
        apps = getattr(manager, "extension_apps", {}) or {}
        for app in apps.get("jupyterlab", ()):
            folder = getattr(app, "workspaces_dir", "")
            if folder:
                return Path(folder)
        from jupyterlab.commands import get_workspaces_dir

        return Path(get_workspaces_dir())

    def workspace_file(self, name: str) -> Path:
        from jupyterlab_server.workspaces_handler import WORKSPACE_EXTENSION, slugify

        return self.workspaces_dir / (slugify(name) + WORKSPACE_EXTENSION)

    def record_file(self, name: str) -> Path:
        return self.workspaces_dir / (name + RECORD_SUFFIX)

    # --- the record ------------------------------------------------------------------------
    def read_record(self, name: str) -> dict[str, Any]:
        try:
            record = json.loads(self.record_file(name).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            self.log.warning("sdcc_lab workspace: unreadable record, starting afresh: %s", e)
            return {}
        return record if isinstance(record, dict) else {}

    def recorded_kernels(self, record: dict[str, Any]) -> dict[str, str]:
        """The record's ``[{"path", "kernel"}]`` in its order (a list: the tabs' order)."""
        kernels = record.get("kernels")
        if not isinstance(kernels, list):
            return {}
        return {
            k["path"]: k["kernel"]
            for k in kernels
            if isinstance(k, dict)
            and isinstance(k.get("path"), str)
            and isinstance(k.get("kernel"), str)
            and k["kernel"]
        }

    def write_record(self, name: str, record: dict[str, Any]) -> None:
        """Replace the record at once (a job killed mid-write leaves the old one whole)."""
        target = self.record_file(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".sdcc-kernels-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f, indent=1, sort_keys=True)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def answer(self) -> dict[str, Any]:
        name = self.workspace
        if name is None:
            return {
                "available": False,
                "reason": NOT_OPENED,
                "workspace": None,
                "restore": False,
                "started": self.started,
                "saved": None,
                "kernels": [],
            }
        record = self.read_record(name)
        return {
            "available": True,
            "reason": None,
            "workspace": name,
            "restore": record.get("restore", True) is not False,
            "started": self.started,
            "saved": record.get("saved") if isinstance(record.get("saved"), str) else None,
            "kernels": [
                {"path": path, "kernel": kernel}
                for path, kernel in self.recorded_kernels(record).items()
            ],
        }

    def set_restore(self, restore: bool) -> None:
        name = self.workspace
        if name is None:
            raise web.HTTPError(409, NOT_OPENED)
        record = self.read_record(name)
        record["restore"] = restore
        self.write_record(name, record)

    # --- the start, the checks -------------------------------------------------------------
    def start(self) -> None:
        """At the server's start: honour the user's switch, then check on a period."""
        name = self.workspace
        if name is None:
            return
        record = self.read_record(name)
        if record.get("restore", True) is False:
            # The user asked for a blank start: nothing of the last session reopens.
            with contextlib.suppress(FileNotFoundError):
                self.workspace_file(name).unlink()
            self.write_record(name, {"restore": False, "kernels": [], "saved": _now()})
            self.log.info("sdcc_lab workspace: %s emptied (the user's setting)", name)
        self._checker = PeriodicCallback(self.check, self.check_interval * 1000)
        self._checker.start()

    def stop(self) -> None:
        if self._checker is not None:
            self._checker.stop()
            self._checker = None

    def _open_notebooks(self, name: str) -> list[str]:
        path = self.workspace_file(name)
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._workspace_stamp, self._open = None, []
            return []
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._workspace_stamp:
            try:
                workspace = json.loads(path.read_text())
            except (OSError, ValueError):
                return self._open  # JupyterLab is writing it: keep the last reading
            self._open = open_notebooks(workspace) if isinstance(workspace, dict) else []
            self._workspace_stamp = stamp
        return self._open

    async def check(self) -> bool:
        """Record each open notebook's kernel if it changed; True when written."""
        name = self.workspace
        if name is None:
            return False
        try:
            sessions = await self.server_app.session_manager.list_sessions()
        except Exception as e:  # noqa: BLE001 - the next check tries again
            self.log.warning("sdcc_lab workspace: the session list failed: %r", e)
            return False
        running = {
            str(s["path"]): str(s["kernel"]["name"])
            for s in sessions
            if s.get("type") == "notebook" and s.get("kernel") and s["kernel"].get("name")
        }
        record = self.read_record(name)
        kernels = merge_kernels(self._open_notebooks(name), running, self.recorded_kernels(record))
        if list(kernels.items()) == list(self.recorded_kernels(record).items()) and (
            "saved" in record
        ):
            return False
        record.update(kernels=[{"path": p, "kernel": k} for p, k in kernels.items()], saved=_now())
        try:
            self.write_record(name, record)
        except OSError as e:
            self.log.warning("sdcc_lab workspace: could not write the record: %s", e)
            return False
        return True


class WorkspaceHandler(SDCCAPIHandler):
    """The portal workspace's record and the user's switch."""

    @property
    def keeper(self) -> WorkspaceKeeper:
        keeper: WorkspaceKeeper = self.settings["sdcc_lab_workspace"]
        return keeper

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish(self.keeper.answer())

    @web.authenticated
    @authorized
    async def put(self) -> None:
        body = json_object(self.request.body)
        unknown = sorted(set(body) - {"restore"})
        if unknown:
            raise web.HTTPError(400, f"unknown field(s): {', '.join(unknown)}")
        restore = body.get("restore")
        if not isinstance(restore, bool):
            raise web.HTTPError(400, "restore must be true or false")
        try:
            self.keeper.set_restore(restore)
        except OSError as e:
            raise web.HTTPError(503, f"could not keep the setting in the home: {e}") from None
        self.set_header("Cache-Control", "no-store")
        self.finish(self.keeper.answer())


def workspace_handlers(base_url: str) -> list[tuple[str, type[SDCCAPIHandler]]]:
    return [(url_path_join(base_url, API_PREFIX, "workspace"), WorkspaceHandler)]


def setup_workspace(server_app: Any) -> WorkspaceKeeper:
    keeper = WorkspaceKeeper(server_app)
    # Runs once the loop starts, before the first request: the default URL is final then
    # (jupyterhub-singleuser sets it while loading) and no browser has loaded the workspace.
    IOLoop.current().add_callback(keeper.start)
    return keeper
