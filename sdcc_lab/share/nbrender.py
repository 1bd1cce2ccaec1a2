"""Rendering a share's notebooks to inert HTML: nbconvert, then the ``nh3`` sanitiser.

This module is what the preview's child process runs (``python -m
sdcc_lab.share.nbrender``), so it imports nothing of the service (no JupyterHub,
no Tornado): the child starts fast and holds only what a render needs.
See :mod:`sdcc_lab.share.preview` for the rules and the page.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nh3

# --- the sanitiser --------------------------------------------------------------------

# What a rendered notebook needs (text, code, tables, images, links), nothing active.
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
}
# Removed with their content (the others lose the tag and keep their text).
_DROP_WITH_CONTENT = {
    "script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript",
    "textarea", "select", "title", "head", "applet", "frameset", "noembed", "noframes",
}  # fmt: skip
# Raster images only: an SVG is a document of its own (scripts, external references).
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_LINK = re.compile(r"^(https?://|mailto:|#)", re.IGNORECASE)


def _keep(tag: str, attribute: str, value: str) -> str | None:
    """Per-attribute rules nh3's scheme list cannot say: which URLs go where."""
    if tag == "img" and attribute == "src":
        return value if _DATA_IMAGE.match(value) else None
    if tag == "a" and attribute == "href":
        return value if _LINK.match(value.strip()) else None
    return value


def sanitize(html: str) -> str:
    """``html`` reduced to inert markup: what a browser can only display."""
    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=_keep,
        url_schemes={"http", "https", "mailto", "data"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


# --- rendering (in the child process) --------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """One notebook's preview: sanitised HTML, or why there is none."""

    path: str
    html: str = ""
    problem: str = ""
    cells: int = 0
    shown: int = 0


def render_notebook(text: str | bytes, name: str, max_cells: int) -> Rendered:
    """One notebook as sanitised HTML (its first ``max_cells`` cells)."""
    import nbformat
    from nbconvert import HTMLExporter

    try:
        nb = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    # nbformat raises these for text that is not a notebook (NotJSONError is a ValueError).
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        return Rendered(name, problem=f"not a notebook nbformat can read ({type(e).__name__})")
    cells = len(nb.cells)
    nb.cells = nb.cells[:max_cells]
    nb.metadata.pop("widgets", None)  # widget state: scripts' data, never shown
    exporter = HTMLExporter(template_name="basic")  # type: ignore[no-untyped-call]
    body, _ = exporter.from_notebook_node(nb)
    return Rendered(name, sanitize(body), cells=cells, shown=len(nb.cells))


def render_snapshot(path: Path, folder: bool, max_cells: int, max_notebooks: int) -> list[Rendered]:
    """A notebook snapshot, or each notebook of a folder's pack (the first ``max_notebooks``)."""
    if not folder:
        return [render_notebook(path.read_bytes(), path.name, max_cells)]
    from ..folderpack import members

    out: list[Rendered] = []
    for name, fh in members(path):
        if not name.endswith(".ipynb"):
            continue
        if len(out) >= max_notebooks:
            out.append(Rendered(name, problem=f"not previewed: only {max_notebooks} notebooks are"))
            continue
        out.append(render_notebook(fh.read(), name, max_cells))
    return sorted(out, key=lambda r: r.path)


def main(argv: list[str] | None = None) -> None:
    """The child: ``python -m sdcc_lab.share.preview PATH KIND MAX_CELLS MAX_NOTEBOOKS MAX_BYTES``.

    Prints the renders as JSON on stdout.
    """
    import resource

    path, kind, max_cells, max_notebooks, max_bytes = (argv or sys.argv[1:])[:5]
    if int(max_bytes) > 0:  # the child's own ceiling: a notebook that needs more fails alone
        resource.setrlimit(resource.RLIMIT_AS, (int(max_bytes), int(max_bytes)))
    renders = render_snapshot(Path(path), kind == "folder", int(max_cells), int(max_notebooks))
    json.dump([r.__dict__ for r in renders], sys.stdout)


if __name__ == "__main__":
    main()
