"""Preview before import: a share's notebooks rendered read-only by the share service.

The link's page frames ``preview/{id}``. That page is a notebook (or each notebook
of a folder) rendered with nbconvert's ``basic`` HTML template, then cleaned with
``nh3`` (the Rust ``ammonia`` sanitiser) to an allow-list of inert tags: no script,
no event handler, no ``javascript:`` URL, no SVG or MathML markup, no form, iframe,
object, embed, meta or style element; images only as ``data:`` URLs of raster
types, so nothing outside the service is fetched. Its Content-Security-Policy is a
second wall: no ``script-src`` at all, ``img-src data:``, the page's own style by
hash, and ``sandbox`` (an opaque origin with no scripts, forms or popups).

The render runs in a child process (``python -m sdcc_lab.share.nbrender``) with a
timeout and an address-space limit, never on the service's event loop: a huge or
hostile notebook costs the child, which is killed, not the service. Renders are
kept in a small in-memory cache per snapshot (a snapshot never changes).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import sys
from collections import OrderedDict
from html import escape
from pathlib import Path
from typing import Any

from tornado import web
from traitlets import Float, Integer
from traitlets.config import Configurable

from ..names import visible_text
from ..nbstream import human_size
from .audience import check_admitted
from .nbrender import Rendered
from .store import ShareInfo
from .web import PageBase

# --- the service's side ----------------------------------------------------------------


class PreviewError(Exception):
    """No preview this time (timeout, memory, a broken snapshot); the message says why."""


class SharePreview(Configurable):
    """How the share service renders previews (``c.SharePreview.…``)."""

    timeout = Float(
        60.0,
        help="""Seconds one preview's render may take (default 60); a slower render is
        stopped and the page says so. Example::

            c.SharePreview.timeout = 120
        """,
    ).tag(config=True)
    max_cells = Integer(
        2000,
        help="""Cells of a notebook rendered in a preview (default 2000); the page says how
        many more the notebook has. Example::

            c.SharePreview.max_cells = 500
        """,
    ).tag(config=True)
    max_notebooks = Integer(
        20,
        help="""Notebooks of a folder share rendered in its preview (default 20); the
        others are listed. Example::

            c.SharePreview.max_notebooks = 50
        """,
    ).tag(config=True)
    memory_limit = Integer(
        4 * 1024**3,
        help="""Address space of the render's process, in bytes (default 4 GiB); 0 for no
        limit. A render that needs more fails alone. Example::

            c.SharePreview.memory_limit = 8 * 1024**3
        """,
    ).tag(config=True)
    concurrency = Integer(
        2,
        help="""Previews rendered at the same time (default 2); more wait their turn, so
        many viewers at once cannot start a render process each. Example::

            c.SharePreview.concurrency = 4
        """,
    ).tag(config=True)
    cache_bytes = Integer(
        64 * 1024**2,
        help="""Rendered previews kept in the service's memory, in bytes (default 64 MiB);
        0 turns the cache off. Example::

            c.SharePreview.cache_bytes = 256 * 1024**2
        """,
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cache: OrderedDict[str, tuple[list[Rendered], int]] = OrderedDict()
        self._cached = 0
        self._locks: dict[str, asyncio.Lock] = {}
        self._failed: dict[str, str] = {}  # why a snapshot has no preview (at most 256)
        self._slots: asyncio.Semaphore | None = None  # made on the service's loop, when first used

    def command(self, path: Path, folder: bool) -> list[str]:
        """The child's argument list (no shell)."""
        return [
            sys.executable,
            "-m",
            "sdcc_lab.share.nbrender",
            str(path),
            "folder" if folder else "notebook",
            str(self.max_cells),
            str(self.max_notebooks),
            str(self.memory_limit),
        ]

    async def render(self, key: str, path: Path, folder: bool) -> list[Rendered]:
        """The previews of snapshot ``key`` (cached; one render at a time per snapshot)."""
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key][0]
        if key in self._failed:  # a snapshot never changes: nor does its render's failure
            raise PreviewError(self._failed[key])
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key in self._cache:
                    return self._cache[key][0]
                if key in self._failed:
                    raise PreviewError(self._failed[key])
                if self._slots is None:
                    self._slots = asyncio.Semaphore(max(1, self.concurrency))
                async with self._slots:
                    try:
                        renders = await self._run(path, folder)
                    except PreviewError as e:
                        if len(self._failed) >= 256:
                            self._failed.pop(next(iter(self._failed)))
                        self._failed[key] = str(e)
                        raise
                self._remember(key, renders)
                return renders
        finally:
            self._locks.pop(key, None)

    async def _run(self, path: Path, folder: bool) -> list[Rendered]:
        proc = await asyncio.create_subprocess_exec(
            *self.command(path, folder),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise PreviewError(
                f"the preview took longer than {self.timeout:g} seconds and was stopped"
            ) from None
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            if "MemoryError" in last[0]:
                raise PreviewError("the notebook is too large to preview")
            logging.getLogger(__name__).warning("preview of %s failed: %s", path.name, last[0])
            raise PreviewError("the notebook could not be rendered")
        return [Rendered(**r) for r in json.loads(out)]

    def _remember(self, key: str, renders: list[Rendered]) -> None:
        size = sum(len(r.html) for r in renders)
        if size > self.cache_bytes:
            return
        self._cache[key] = (renders, size)
        self._cached += size
        while self._cached > self.cache_bytes:
            _, (_, dropped) = self._cache.popitem(last=False)
            self._cached -= dropped


# --- the page ---------------------------------------------------------------------------

_STYLE = """
:root{color-scheme:light dark}
body{font-family:system-ui,sans-serif;margin:0;padding:1em;background:Canvas;color:CanvasText}
h1.sdcc-title{font-size:1.2em;margin:0 0 .5em}
table{border-collapse:collapse} th,td{padding:.2em .6em;border-bottom:1px solid GrayText;
text-align:left;vertical-align:top}
a{color:LinkText} img{max-width:100%;height:auto}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.cell{margin:.6em 0} .input_area{border:1px solid GrayText;border-radius:3px;padding:.4em}
.prompt{font-family:monospace;color:CanvasText;font-size:.85em}
.output_area{padding:.3em .4em} .output_stderr{background:Mark;color:MarkText}
.anchor-link{display:none}
.sdcc-note{border-left:4px solid CanvasText;padding:.4em .8em;background:Mark;color:MarkText}
section.sdcc-notebook{border-top:2px solid GrayText;margin-top:1.5em}
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# No script-src (default-src 'none' covers it), images only from data: URLs, only the
# page's own style, no forms, framed by the service's own link page only; ``sandbox``
# gives the page an opaque origin where nothing can run even if markup slipped through.
PREVIEW_CSP = (
    f"default-src 'none'; img-src data:; style-src {_sha256(_STYLE)}; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


def preview_page(share: ShareInfo, renders: list[Rendered], files: list[tuple[str, int]] | None,
                 problem: str = "") -> str:  # fmt: skip
    """The preview document: rendered notebooks (already sanitised) and, for a folder, its files."""
    parts: list[str] = []
    name = escape(visible_text(share.name))
    parts.append(
        f"<h1 class='sdcc-title'>Preview of {name}, shared by {escape(share.owner)} "
        f"(version {share.version}): read-only, nothing runs</h1>"
    )
    if files is not None:
        rows = "".join(
            f"<tr><td>{escape(visible_text(p))}</td><td>{escape(human_size(n))}</td></tr>"
            for p, n in files
        )
        parts.append(
            f"<table aria-label='Files in {name}'><tr><th>File</th><th>Size</th></tr>{rows}</table>"
        )
    if problem:
        parts.append(f"<p class='sdcc-note'>No preview: {escape(problem)}.</p>")
    for r in renders:
        label = escape(visible_text(r.path))
        head = f"<h2>{label}</h2>" if files is not None else ""
        if r.problem:
            body = f"<p class='sdcc-note'>{label}: {escape(r.problem)}.</p>"
        else:
            more = r.cells - r.shown
            note = (
                f"<p class='sdcc-note'>The first {r.shown} of {r.cells} cells are shown.</p>"
                if more > 0
                else ""
            )
            body = r.html + note
        parts.append(f"<section class='sdcc-notebook' aria-label='{label}'>{head}{body}</section>")
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Preview of {name}</title><style>{_STYLE}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>"
    )


class PreviewPage(PageBase):
    """``GET preview/{id}``: the share's preview, for whoever opened its link.

    The link's token never reaches the service in an address, so the page asks
    for the record the link page's ``POST open`` left: the viewer must have opened
    this share's link (or own it, or be an admin), and still be in its audience.
    Nothing is imported, nothing starts.
    """

    @property
    def previewer(self) -> SharePreview:
        found = self.settings.get("sdcc_share_preview")
        if found is None:
            found = SharePreview(config=getattr(self.service, "config", None))
            self.settings["sdcc_share_preview"] = found
        return found

    @web.authenticated
    async def get(self, share_id: str) -> None:
        share = self.store.get(share_id)
        user = self.user_name
        if share is None:
            raise web.HTTPError(404, "no such share")
        opened = bool(self.store.accesses([share.id], user))
        if share.owner != user and not self.is_admin() and not opened:
            raise web.HTTPError(403, "open the share's link first: its page shows this preview")
        if not share.is_live(self.store.clock()):
            raise web.HTTPError(410, f"{share.owner} revoked this link, or it expired")
        await check_admitted(self, share)
        folders = self.store.folder_files([share.snapshot_key])
        files = folders.get(share.snapshot_key)
        path = self.store.snapshot_file(share.snapshot_key)
        renders: list[Rendered] = []
        problem = ""
        if not path.exists():
            problem = "the shared version is not on the service any more"
        else:
            try:
                renders = await self.previewer.render(share.snapshot_key, path, files is not None)
            except PreviewError as e:
                problem = str(e)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", PREVIEW_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        self.finish(preview_page(share, renders, files, problem))
