"""The display names users read: one table, ``labels.json``, for Python and TypeScript.

The share service's pages and the JupyterLab extension (``src/``, which imports
the same JSON file) name schedulers and session options with these words, so
a session reads the same in the panel, the "About" dialog and a shared link.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, TypedDict


class OptionLabel(TypedDict):
    key: str
    label: str


class Labels(TypedDict):
    schedulers: dict[str, str]
    jobs: dict[str, str]
    unknownScheduler: str
    where: str
    kernel: str
    options: list[OptionLabel]


@cache
def labels() -> Labels:
    """The table, read once from the package (the wheel ships it)."""
    text = resources.files("sdcc_lab").joinpath("labels.json").read_text(encoding="utf-8")
    table: Labels = json.loads(text)
    return table


def scheduler_name(scheduler: object) -> str:
    """The words for a session's scheduler; an unknown value as itself, none as "Unknown"."""
    if scheduler is None or scheduler == "":
        return labels()["unknownScheduler"]
    return labels()["schedulers"].get(str(scheduler), str(scheduler))


def option_rows(options: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` per set option: the known ones in the table's order, then the rest by key.

    ``local`` is left out: the scheduler's name already says it.
    """
    rows: list[tuple[str, str]] = []
    known = {"local"}
    for entry in labels()["options"]:
        known.add(entry["key"])
        value = options.get(entry["key"])
        if value not in (None, ""):
            rows.append((entry["label"], str(value)))
    for key in sorted(k for k in options if k not in known):
        if options[key] not in (None, ""):
            rows.append((key, str(options[key])))
    return rows
