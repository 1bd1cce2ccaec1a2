"""sdcc_lab: the software of an HPC site's Jupyter portal.

This module holds the entry points only: the JupyterLab extension's location
and the Jupyter Server extension's loader. The parts live in sub-packages:

- ``sdcc_lab.server``: the single-user server extension (REST API).
- ``sdcc_lab.hub``: everything the hub imports (spawners, authenticator).
- ``sdcc_lab.share``: the hub-managed share service.
- ``sdcc_lab.resources``: readers of a session's job limits and usage.
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__ as __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0+unknown"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "sdcc-lab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "sdcc_lab"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .server.extension import load_extension

    load_extension(server_app)
