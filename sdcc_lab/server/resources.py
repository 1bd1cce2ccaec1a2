"""``GET sdcc-lab/api/resources``: the session's job limits and usage.

The handler is thin: the :class:`~sdcc_lab.resources.collector.ResourcesCollector`
in ``settings["sdcc_lab_resources"]`` does the work and owns the caches. Any
failure becomes ``null`` values and a ``problems`` entry: this endpoint never
answers 500 because a source failed.

Query parameter ``usage=0`` (or ``false``, ``no``) skips the usage reading (the
browser asks so when the panel is hidden and only the end time matters);
``1``, ``true``, ``yes`` read it; any other value is a 400.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..resources.collector import ResourcesCollector
from ..resources.kernels import ServerKernels
from ..resources.model import empty_answer
from ..resources.quota import QuotaReader
from ..session import SETTINGS_KEY
from .handlers import API_PREFIX, SDCCAPIHandler

# The values server.json gives ``usage``; anything else is a 400, not a guess.
_USAGE_VALUES = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class ResourcesHandler(SDCCAPIHandler):
    """The session's resources, shared by every tab (see the collector for costs)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        collector: ResourcesCollector | None = self.settings.get("sdcc_lab_resources")
        flag = self.get_query_argument("usage", "1", strip=False)
        if flag not in _USAGE_VALUES:
            raise web.HTTPError(400, "'usage' must be one of " + ", ".join(sorted(_USAGE_VALUES)))
        usage = _USAGE_VALUES[flag]
        data: dict[str, Any]
        if collector is None:
            data = empty_answer(None, "the resources collector is not running")
        else:
            try:
                data = await collector.snapshot(usage=usage)
            except Exception as e:  # noqa: BLE001 - a failing source must not fail the endpoint
                collector.log_once(f"sdcc_lab resources: snapshot failed: {e!r}")
                data = empty_answer(
                    collector.session.scheduler, f"reading the resources failed: {e}"
                )
        self.set_header("Cache-Control", "no-store")
        self.finish(data)


def resources_handlers(base_url: str) -> list[tuple[str, type[SDCCAPIHandler]]]:
    return [(url_path_join(base_url, API_PREFIX, "resources"), ResourcesHandler)]


def setup_resources(server_app: Any) -> ResourcesCollector:
    """Create the server's one collector and schedule its start-up query."""
    from tornado.ioloop import IOLoop

    quota = QuotaReader(home=server_app.root_dir, parent=server_app, log=server_app.log)
    collector = ResourcesCollector(
        session=server_app.web_app.settings[SETTINGS_KEY],
        parent=server_app,
        log=server_app.log,
        kernels=ServerKernels(server_app),
        quota=quota,
    )
    IOLoop.current().add_callback(collector.start)
    return collector
