"""The OpenAPI 3 descriptions of what sdcc_lab adds, one JSON file per component.

``server.json`` (the single-user server extension, ``{base_url}sdcc-lab/api/…``),
``share.json`` (the share service's API and pages) and ``hub.json`` (the hub's
``/hub/api/sdcc-lab/…`` handlers) live in this package, so the wheel ships them
and each component serves its own with a GET; the tests compare them with the
routes the components register and with ``docs/api.md``.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

#: The descriptions this package holds (file ``<name>.json``).
NAMES = ("server", "share", "hub")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@cache
def _text(name: str) -> str:
    return resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """The description ``<name>.json`` as a new dict (callers may change it, e.g. set ``servers``).

    Raises ``ValueError`` for a name that is not a plain word (no paths) and
    ``FileNotFoundError`` when the package has no such description.
    """
    if not _NAME.match(name):
        raise ValueError(f"not a description name: {name!r}")
    document: dict[str, Any] = json.loads(_text(name))
    return document
