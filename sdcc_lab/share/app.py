"""The share service application: configuration and start-up.

JupyterHub starts it as a managed service (``c.JupyterHub.services``); the hub
passes its URL, prefix, API token and OAuth client through ``JUPYTERHUB_*``
environment variables. Run it with ``python -m sdcc_lab.share`` (or the
``sdcc-lab-share`` command) and configure it on the command line
(``--ShareService.keys_file=...``) or in a config file (``--config=FILE``).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Bool, Integer, List, Set, Unicode, default, validate
from traitlets.config import Application

from .limits import UploadGate
from ..nbstream import DEFAULT_MAX_DEPTH
from .store import ShareStore
from .tokens import ShareSigner

DAY = 24 * 3600
MB = 1024 * 1024


class ShareService(Application):
    """The hub-managed service that signs, stores and opens notebook share links."""

    name = "sdcc-lab-share"
    description = "sdcc_lab's share service (started by JupyterHub as a managed service)"

    config_file = Unicode("", help="A Python config file to load (``c.ShareService.… = …``).").tag(config=True)

    keys_file = Unicode(
        "",
        help="""A file holding the signing keys, one per line, **newest first**.

        New links are signed with the first key; links signed with any key in
        the file verify. To rotate: put a new key first, keep the old one until
        its links have expired, then remove it (its links stop verifying).
        Only the hub's account should read the file (mode 0600). Example::

            c.ShareService.keys_file = "/srv/jupyterhub/share-keys"
        """,
    ).tag(config=True)

    keys = List(
        Unicode(),
        help="""Signing keys, newest first, if not in ``keys_file``.

        Defaults to ``$SDCC_LAB_SHARE_KEYS`` (keys separated by commas). Never put
        these in a spawner's environment: single-user servers must not see them.
        """,
    ).tag(config=True)

    @default("keys")
    def _default_keys(self) -> list[str]:
        raw = os.environ.get("SDCC_LAB_SHARE_KEYS", "")
        return [k.strip() for k in raw.split(",") if k.strip()]

    data_dir = Unicode(
        help="Folder for the default database and snapshots (default: the current folder, "
        "which is the hub's data folder when the hub starts the service with ``cwd``)."
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.getcwd()

    db_url = Unicode(
        help="""SQLAlchemy URL of the share store.

        Default: ``sqlite:///{data_dir}/sdcc_lab_shares.sqlite``. For several hubs
        sharing one store: ``postgresql://user:password@host/dbname`` (and a
        ``snapshot_dir`` they all mount).
        """,
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self) -> str:
        return f"sqlite:///{Path(self.data_dir) / 'sdcc_lab_shares.sqlite'}"

    snapshot_dir = Unicode(
        help="Folder holding the last saved snapshot of each live share (default: "
        "``{data_dir}/share-snapshots``)."
    ).tag(config=True)

    @default("snapshot_dir")
    def _default_snapshot_dir(self) -> str:
        return str(Path(self.data_dir) / "share-snapshots")

    max_expires_in = Integer(7 * DAY, help="Longest lifetime of a link, in seconds (default 7 days).").tag(config=True)
    default_expires_in = Integer(DAY, help="Lifetime of a link when the sender does not choose, in seconds (default 1 day).").tag(config=True)
    max_notebook_size = Integer(
        100 * 1024 * 1024,
        help="Largest notebook that can be shared, in bytes (default 100 MB); larger ones get 413.",
    ).tag(config=True)
    max_live_shares = Integer(
        100,
        help="Live links per user (default 100); more get 403, before the notebook is read.",
    ).tag(config=True)
    max_snapshot_bytes_per_user = Integer(
        1024 * MB,
        help="""Bytes a user's snapshots may take in ``snapshot_dir`` (default 1 GB).

        Counted once per shared file, however many live links it has: the
        links of one file share one snapshot. An upload that would pass it gets
        413, before its body is read when it says its length. Example::

            c.ShareService.max_snapshot_bytes_per_user = 2 * 1024**3  # 2 GB
        """,
    ).tag(config=True)
    max_concurrent_uploads = Integer(
        4,
        help="""Uploads (new links and new versions) one user may have in flight at once
        (default 4); more get 429 until one ends. Example::

            c.ShareService.max_concurrent_uploads = 8
        """,
    ).tag(config=True)
    max_notebook_depth = Integer(
        DEFAULT_MAX_DEPTH,
        help=f"""Deepest nesting of JSON objects and arrays in a shared notebook (default
        {DEFAULT_MAX_DEPTH}; real notebooks nest about ten levels). Deeper ones get 400.
        Single-user servers refuse to import deeper notebooks than the default
        whatever this says. Example::

            c.ShareService.max_notebook_depth = 128
        """,
    ).tag(config=True)
    check_threads = Integer(
        4,
        help="Threads that check and write uploaded notebooks off the event loop (default 4): "
        "a large upload never delays other requests.",
    ).tag(config=True)

    admin_users = Set(
        Unicode(),
        help="""Users who may list and revoke every share (the service's page and its API).

        The hub does not tell a service who its admins are through the scopes
        a user's login grants it, so name them here::

            c.ShareService.admin_users = {"hubadmin"}
        """,
    ).tag(config=True)

    public_url = Unicode(
        help="""The hub's public URL, used to make links absolute
        (``https://jupyter.example.org/``). Default ``$JUPYTERHUB_PUBLIC_URL``;
        when empty, links are paths on the hub and JupyterLab makes them absolute
        with the address the user sees. Never taken from a request's Host header.""",
    ).tag(config=True)

    @default("public_url")
    def _default_public_url(self) -> str:
        return os.environ.get("JUPYTERHUB_PUBLIC_URL", "")

    @validate("public_url")
    def _check_public_url(self, proposal: Any) -> str:
        value = str(proposal["value"])
        return value.rstrip("/") if value else ""

    purge_interval = Integer(3600, help="Seconds between purges of dead shares' snapshots.").tag(config=True)
    debug_log = Bool(False, help="Log at debug level.").tag(config=True)

    aliases = {  # noqa: RUF012 (traitlets' class-level table)
        "config": "ShareService.config_file",
        "keys-file": "ShareService.keys_file",
        "db-url": "ShareService.db_url",
        "data-dir": "ShareService.data_dir",
    }

    # --- runtime ---------------------------------------------------------------
    def load_keys(self) -> list[str]:
        keys = list(self.keys)
        if self.keys_file:
            lines = Path(self.keys_file).read_text().splitlines()
            keys = [k.strip() for k in lines if k.strip() and not k.startswith("#")]
        if not keys:
            raise SystemExit(
                "sdcc-lab-share: no signing key. Set c.ShareService.keys_file or $SDCC_LAB_SHARE_KEYS."
            )
        return keys

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
            self.update_config(self.cli_config)  # the command line wins over the file
        if self.debug_log:
            self.log_level = 10

    def make_app(self, hub_auth: Any = None) -> web.Application:
        from .handlers import handlers

        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/share/")
        if hub_auth is None:
            hub_auth = HubOAuth(api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""), cache_max_age=60)
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        store = ShareStore(self.db_url, self.snapshot_dir)
        return web.Application(
            handlers(prefix),
            cookie_secret=secrets.token_bytes(32),
            share_service=self,
            share_store=store,
            share_signer=ShareSigner(self.load_keys()),
            share_prefix=prefix,
            share_uploads=UploadGate(),
            share_executor=ThreadPoolExecutor(self.check_threads, thread_name_prefix="share-upload"),
            hub_auth=hub_auth,
            hub_prefix=os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/",
        )

    def lifetime(self, seconds: int | None) -> timedelta:
        return timedelta(seconds=self.default_expires_in if seconds is None else seconds)

    async def run(self) -> None:
        app = self.make_app()
        url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
        server = HTTPServer(app, xheaders=True)
        server.listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info("sdcc_lab share service listening on %s", url.geturl())
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        store: ShareStore = app.settings["share_store"]
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.purge_interval)
            except asyncio.TimeoutError:
                try:
                    store.purge_dead()
                except Exception:  # a failed purge must not stop the service
                    self.log.exception("purging dead shares failed")
        server.stop()
        self.log.info("sdcc_lab share service stopped")


def main(argv: list[str] | None = None) -> None:
    service = ShareService()
    service.initialize(argv)
    asyncio.run(service.run())
