"""The preview's sanitiser and renderer (sdcc_lab.share.nbrender, sdcc_lab.share.preview):
each active-content vector on its own, a whole notebook through nbconvert, and the
render's child process with its timeout, its errors and its cache."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from sdcc_lab.share.nbrender import render_notebook, render_snapshot, sanitize
from sdcc_lab.share.preview import PREVIEW_CSP, PreviewError, SharePreview

# A 1x1 PNG, as a kernel's display_data holds it.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


@pytest.mark.parametrize(
    ("dirty", "gone"),
    [
        ("<p>a</p><script>alert(1)</script>", ["<script", "alert"]),
        ("<img src=x onerror=alert(1)>", ["onerror", "alert", "src="]),
        ("<a href='javascript:alert(1)'>x</a>", ["javascript", "href"]),
        ("<a href=' JaVaScRiPt:alert(1)'>x</a>", ["javascript", "href"]),
        ("<iframe src='https://evil.example/'></iframe>", ["iframe", "evil"]),
        ("<object data='x.swf'></object><embed src='x.swf'>", ["object", "embed", "swf"]),
        ("<svg><script>alert(1)</script><circle onload=alert(2) /></svg>", ["svg", "alert"]),
        ("<form action='https://evil.example/'><input name=q></form>", ["form", "input", "evil"]),
        ("<meta http-equiv='refresh' content='0;url=https://evil.example/'>", ["meta", "evil"]),
        ("<img src='https://evil.example/track.png'>", ["evil", "src="]),
        ("<link rel=stylesheet href='https://evil.example/x.css'>", ["link", "evil"]),
        ("<style>body{background:url(https://evil.example/)}</style>", ["style", "evil"]),
        ("<p style='background:url(https://evil.example/)'>a</p>", ["style", "evil"]),
        ("<div onclick='alert(1)' onmouseover=alert(2)>a</div>", ["onclick", "onmouseover"]),
        ("<img src='data:image/svg+xml;base64,PHN2Zz4='>", ["svg", "src="]),
        ("<a href='data:text/html,<script>alert(1)</script>'>x</a>", ["data:", "href", "alert"]),
        ("<base href='https://evil.example/'>", ["base", "evil"]),
        ("<!-- <script>alert(1)</script> -->", ["script", "alert"]),
    ],
)
def test_sanitize_removes_each_vector(dirty: str, gone: list[str]) -> None:
    clean = sanitize(dirty).lower()
    for word in gone:
        assert word.lower() not in clean, (dirty, clean)


def test_sanitize_keeps_text_raster_data_images_and_plain_links() -> None:
    clean = sanitize(
        f"<h2>Results</h2><img src='data:image/png;base64,{PNG}' alt='plot'>"
        "<a href='https://example.org/paper'>paper</a><table><tr><td>1</td></tr></table>"
    )
    assert "<h2>Results</h2>" in clean
    assert f'src="data:image/png;base64,{PNG}"' in clean
    assert 'href="https://example.org/paper"' in clean and "noopener" in clean
    assert "<td>1</td>" in clean


def hostile_notebook() -> dict[str, Any]:
    """The issue's notebook: scripts in a markdown cell and in an HTML output, an
    ``onerror`` image, a ``javascript:`` link, and a PNG image output."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [
            {
                "cell_type": "markdown",
                "id": "md",
                "metadata": {},
                "source": "# Visible heading\n\nSome visible text.\n\n"
                "<script>alert('markdown')</script>\n\n"
                "<img src=x onerror=\"alert('onerror')\">\n\n"
                "[click me](javascript:alert('link'))",
            },
            {
                "cell_type": "code",
                "id": "code",
                "metadata": {},
                "execution_count": 1,
                "source": "plot()",
                "outputs": [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"text/html": "<b>html output</b><script>alert('output')</script>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": PNG, "text/plain": "<Figure>"},
                    },
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"application/javascript": "alert('js output')"},
                    },
                ],
            },
        ],
    }


def test_render_notebook_shows_text_and_image_and_nothing_active() -> None:
    r = render_notebook(json.dumps(hostile_notebook()), "hostile.ipynb", 100)
    assert r.problem == ""
    assert "Visible heading" in r.html and "Some visible text." in r.html
    assert "<b>html output</b>" in r.html and ">plot<" in r.html
    assert f"data:image/png;base64,{PNG}" in r.html
    low = r.html.lower()
    for word in ("<script", "alert", "onerror", "javascript:"):
        assert word not in low, word
    assert (r.cells, r.shown) == (2, 2)


def test_render_notebook_caps_cells_and_names_a_broken_one() -> None:
    nb = hostile_notebook()
    nb["cells"] = [dict(nb["cells"][0], id=f"c{i}") for i in range(5)]
    r = render_notebook(json.dumps(nb), "many.ipynb", 2)
    assert (r.cells, r.shown) == (5, 2)
    broken = render_notebook(b"{not json", "broken.ipynb", 10)
    assert broken.html == "" and "not a notebook" in broken.problem


def test_render_snapshot_of_a_folder_renders_its_notebooks_only(tmp_path: Path) -> None:
    pack = tmp_path / "pack.tar"
    with tarfile.open(pack, "w") as tar:
        for name, data in (
            ("b.ipynb", json.dumps(hostile_notebook()).encode()),
            ("a.ipynb", json.dumps(hostile_notebook()).encode()),
            ("data.csv", b"1,2\n"),
            ("c.ipynb", json.dumps(hostile_notebook()).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    renders = render_snapshot(pack, True, 100, 2)
    assert [r.path for r in renders] == ["a.ipynb", "b.ipynb", "c.ipynb"]
    assert "only 2 notebooks" in renders[2].problem and renders[2].html == ""
    assert all("Visible heading" in r.html for r in renders[:2])


def test_the_child_process_renders_and_the_cache_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(hostile_notebook()))
    previewer = SharePreview()
    renders = asyncio.run(previewer.render("k1", path, False))
    assert "Visible heading" in renders[0].html and "alert" not in renders[0].html
    path.unlink()  # a second view comes from the cache, not from a render
    assert asyncio.run(previewer.render("k1", path, False)) == renders


def test_a_render_over_its_time_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(hostile_notebook()))
    previewer = SharePreview(timeout=0.01)
    with pytest.raises(PreviewError, match=r"longer than 0\.01 seconds"):
        asyncio.run(previewer.render("k2", path, False))


def test_a_render_over_its_memory_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(hostile_notebook()))
    previewer = SharePreview(memory_limit=64 * 1024**2)  # less than Python with nbconvert needs
    with pytest.raises(PreviewError):
        asyncio.run(previewer.render("k3", path, False))


def test_a_missing_snapshot_is_a_preview_error(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match="could not be rendered"):
        asyncio.run(SharePreview().render("k4", tmp_path / "gone.ipynb", False))


def test_the_preview_csp_allows_no_script_and_no_outside_fetch() -> None:
    directives = dict(
        [*d.split(" ", 1), ""][:2] for d in (x.strip() for x in PREVIEW_CSP.split(";"))
    )
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives
    assert directives["img-src"] == "data:"
    assert "sandbox" in directives and directives["sandbox"] == ""
    assert directives["frame-ancestors"] == "'self'"


def test_a_failed_render_is_remembered_not_rerun(tmp_path: Path) -> None:
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(hostile_notebook()))
    previewer = SharePreview(timeout=0.01)
    with pytest.raises(PreviewError) as first:
        asyncio.run(previewer.render("k5", path, False))
    previewer.timeout = 60.0  # a second render would succeed now: the snapshot's answer stays
    with pytest.raises(PreviewError) as second:
        asyncio.run(previewer.render("k5", path, False))
    assert str(first.value) == str(second.value)
    assert "longer than" in str(second.value)
