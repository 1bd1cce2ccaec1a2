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
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jupyterhub.services.auth import HubOAuth
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Bool, Callable, Integer, List, Unicode, default
from traitlets.config import Application
from traitlets.config.application import catch_config_error

from .handlers import NotFound, handlers
from .limits import UploadGate
from .settings import ShareSettings
from .store import ShareStore, utcnow
from .tokens import ShareSigner


class ShareService(Application, ShareSettings):
    """The hub-managed service that signs, stores and opens notebook share links."""

    name = "sdcc-lab-share"
    description = "sdcc_lab's share service (started by JupyterHub as a managed service)"

    config_file = Unicode(
        "",
        help="""A Python config file to load (``c.ShareService.… = …`` lines), on the
        command line: ``--ShareService.config_file=/srv/jupyterhub/share_config.py``.""",
    ).tag(config=True)

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
        Prefer ``keys_file``; if set here::

            c.ShareService.keys = ["new-key", "old-key"]
        """,
    ).tag(config=True)

    @default("keys")
    def _default_keys(self) -> list[str]:
        raw = os.environ.get("SDCC_LAB_SHARE_KEYS", "")
        return [k.strip() for k in raw.split(",") if k.strip()]

    data_dir = Unicode(
        help="""Folder for the default database and snapshots (default: the current
        folder, which is the hub's data folder when the hub starts the service with
        ``cwd``). Example::

            c.ShareService.data_dir = "/srv/jupyterhub/share"
        """,
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return os.getcwd()

    db_url = Unicode(
        help="""SQLAlchemy URL of the share store.

        Default: ``sqlite:///{data_dir}/sdcc_lab_shares.sqlite``. For several hubs
        sharing one store (and a ``snapshot_dir`` they all mount)::

            c.ShareService.db_url = "postgresql://share:secret@db.example.org/shares"
        """,
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self) -> str:
        return f"sqlite:///{Path(self.data_dir) / 'sdcc_lab_shares.sqlite'}"

    snapshot_dir = Unicode(
        help="""Folder holding the last saved snapshot of each live share (default:
        ``{data_dir}/share-snapshots``). Example::

            c.ShareService.snapshot_dir = "/shared/jupyterhub/share-snapshots"
        """,
    ).tag(config=True)

    @default("snapshot_dir")
    def _default_snapshot_dir(self) -> str:
        return str(Path(self.data_dir) / "share-snapshots")

    check_threads = Integer(
        4,
        help="""Threads that check and write uploaded notebooks off the event loop
        (default 4): a large upload never delays other requests. Example::

            c.ShareService.check_threads = 8
        """,
    ).tag(config=True)

    purge_interval = Integer(
        3600,
        help="""Seconds between purges of dead shares' snapshots (default 1 hour). Example::

            c.ShareService.purge_interval = 600
        """,
    ).tag(config=True)
    debug_log = Bool(
        False,
        help="""Log at debug level (default off). Example::

            c.ShareService.debug_log = True
        """,
    ).tag(config=True)

    # Not configurable: what "now" is for expiry. Tests pass a clock they move;
    # a site has no reason to, so no config file or command line can set it.
    clock = Callable(utcnow, help="A function that returns the current time (timezone-aware, UTC).")

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

    @catch_config_error  # a refused setting: one line saying why, exit 1, no traceback
    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
            self.update_config(self.cli_config)  # the command line wins over the file
        if self.debug_log:
            self.log_level = 10

    def make_app(self, hub_auth: Any = None) -> web.Application:
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/share/")
        if hub_auth is None:
            hub_auth = HubOAuth(
                api_token=os.environ.get("JUPYTERHUB_API_TOKEN", ""), cache_max_age=60
            )
        Path(self.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        store = ShareStore(self.db_url, self.snapshot_dir, clock=self.clock)
        return web.Application(
            handlers(prefix),
            default_handler_class=NotFound,  # unknown URLs answer in the service's error shape
            cookie_secret=secrets.token_bytes(32),
            share_service=self,
            share_store=store,
            share_signer=ShareSigner(self.load_keys()),
            share_prefix=prefix,
            share_uploads=UploadGate(),
            share_executor=ThreadPoolExecutor(
                self.check_threads, thread_name_prefix="share-upload"
            ),
            hub_auth=hub_auth,
            hub_prefix=os.environ.get("JUPYTERHUB_BASE_URL", "/").rstrip("/") + "/hub/",
        )

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
