"""Wire the server extension into a running jupyter_server."""

from __future__ import annotations

from typing import Any

from ..session import SETTINGS_KEY, resolve_session
from .extend import extend_handlers, setup_extend
from .handlers import default_handlers
from .resources import resources_handlers, setup_resources
from .shares import setup_shares, share_handlers
from .workers import setup_workers, workers_handlers
from .workspace import setup_workspace, workspace_handlers


def load_extension(server_app: Any) -> None:
    web_app = server_app.web_app
    # Resolved once, before anything reads it: the session is fixed for the life of
    # the server, and every endpoint answers from this one object.
    session = resolve_session()
    web_app.settings[SETTINGS_KEY] = session
    server_app.log.info(
        "sdcc_lab session: %s%s (from the %s)%s",
        session.scheduler,
        f" job {session.job_id}" if session.job_id else "",
        session.source,
        f"; problem: {session.problem}" if session.problem else "",
    )
    web_app.add_handlers(".*$", default_handlers(web_app.settings["base_url"]))
    web_app.settings["sdcc_lab_shares"] = setup_shares(server_app)
    web_app.add_handlers(".*$", share_handlers(web_app.settings["base_url"]))
    web_app.settings["sdcc_lab_resources"] = setup_resources(server_app)
    web_app.add_handlers(".*$", resources_handlers(web_app.settings["base_url"]))
    web_app.settings["sdcc_lab_extend"] = setup_extend(server_app)
    web_app.add_handlers(".*$", extend_handlers(web_app.settings["base_url"]))
    web_app.settings["sdcc_lab_workers"] = setup_workers(server_app)
    web_app.add_handlers(".*$", workers_handlers(web_app.settings["base_url"]))
    web_app.settings["sdcc_lab_workspace"] = setup_workspace(server_app)
    web_app.add_handlers(".*$", workspace_handlers(web_app.settings["base_url"]))
    server_app.log.info("sdcc_lab server extension loaded")
