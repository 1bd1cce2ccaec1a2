"""``docs/api.md`` and the OpenAPI descriptions name the same operations.

Every operation of ``sdcc_lab/openapi/{server,share,hub}.json`` is named in
docs/api.md as `` `METHOD path` `` in a heading or a table row, and every
`` `METHOD path` `` a heading or table row of docs/api.md names is in a
description, so that neither can gain or lose an endpoint alone.

How docs/api.md writes a path: relative to the component's prefix as the
description's ``paths`` do, without the leading ``/`` (``GET info``,
``DELETE shares/{id}``, ``POST api/shares``), or in full from the prefix on
(``GET /services/share/``, ``POST /hub/api/sdcc-lab/port``). A query
(``[?next=…]``, ``?path=``) is not part of the path, and path parameters
match whatever their names (``{id}`` and ``{share_id}`` are one).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sdcc_lab.openapi import NAMES, load

API_MD = Path(__file__).resolve().parents[1] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")
NAMED = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) ([^`\s]*)`")
# The prefixes a full path in docs/api.md may start with, per component.
PREFIXES = {
    "server": ("{base_url}sdcc-lab/api/", "/user/{name}/sdcc-lab/api/", "/sdcc-lab/api/"),
    "share": ("/services/share/",),
    "hub": ("/hub/api/",),
}


def normal(path: str) -> str:
    """The path without a query, leading slash or parameter names: ``shares/{}``."""
    path = re.split(r"\[?\?", path, maxsplit=1)[0]
    return re.sub(r"\{[^}]*\}", "{}", path.lstrip("/"))


def described(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), normal(path))
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }


def relative(path: str) -> str:
    for prefixes in PREFIXES.values():
        for prefix in prefixes:
            if path.startswith(prefix):
                return path[len(prefix) :]
    return path


def named_in_docs(text: str) -> set[tuple[str, str]]:
    """``(METHOD, path)`` of every `` `METHOD path` `` in a heading or a table row."""
    found = set()
    for line in text.splitlines():
        if line.startswith("#") or line.lstrip().startswith("|"):
            for method, path in NAMED.findall(line):
                found.add((method, normal(relative(path))))
    return found


def test_the_descriptions_do_not_share_an_operation() -> None:
    """The comparison below is exact only when no relative path is in two components."""
    seen: dict[tuple[str, str], str] = {}
    for name in NAMES:
        for operation in described(load(name)):
            assert operation not in seen, f"{operation} is in {seen[operation]} and {name}"
            seen[operation] = name


def test_docs_name_every_described_operation_and_nothing_else() -> None:
    in_docs = named_in_docs(API_MD.read_text(encoding="utf-8"))
    in_descriptions = {op for name in NAMES for op in described(load(name))}
    missing = sorted(in_descriptions - in_docs)
    extra = sorted(in_docs - in_descriptions)
    assert not missing, f"described but not in docs/api.md's headings/tables: {missing}"
    assert not extra, f"in docs/api.md but in no description: {extra}"


def test_the_docs_reader_finds_headings_and_table_rows_only() -> None:
    text = (
        "## `GET info`\n"
        "| `GET open[?next=…]` | `POST api/shares`, `PUT api/snapshots?path=` |\n"
        "| `GET /services/share/` | `POST /hub/api/sdcc-lab/port` |\n"
        "A paragraph naming `GET /api/status` does not count.\n"
        "### `DELETE shares/{id}`\n"
    )
    assert named_in_docs(text) == {
        ("GET", "info"),
        ("GET", "open"),
        ("POST", "api/shares"),
        ("PUT", "api/snapshots"),
        ("GET", ""),
        ("POST", "sdcc-lab/port"),
        ("DELETE", "shares/{}"),
    }
