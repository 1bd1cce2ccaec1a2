"""No hard-coded colour in the project's styles: light and dark themes both read well.

JupyterLab's parts (style/*.css) take their colours from JupyterLab's theme
variables (``--jp-*``); the hub's spawn form from JupyterHub's Bootstrap
classes and variables; the share service's pages from the browser's system
colours (``Canvas``, ``CanvasText``, ``LinkText``…), which follow the user's
light or dark preference (``color-scheme: light dark``). A colour written out
(``#1976d2``, ``rgb(…)``, ``white``) would stay the same in every theme: this
test lists each one it finds. A literal is allowed only as the fallback of a
``var()``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdcc_lab.share import pages

ROOT = Path(__file__).resolve().parent.parent

# Colour literals: hex, the colour functions, and the named colours people type.
LITERAL = re.compile(
    r"(?<![\w-])#[0-9a-fA-F]{3,8}\b"
    r"|\b(?:rgba?|hsla?|hwb|lab|lch|oklab|oklch|color)\("
    r"|(?<![\w-])(?:white|black|red|green|blue|gray|grey|silver|yellow|orange|purple"
    r"|navy|teal|maroon|lightgray|lightgrey|darkgray|darkgrey|whitesmoke)(?![\w-])",
    re.IGNORECASE,
)
STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(["'])(.*?)\1""", re.DOTALL | re.IGNORECASE)
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def without_var_fallbacks(css: str) -> str:
    """The CSS with every ``var(…)`` call (and so its fallback) taken out."""
    out, i = [], 0
    while (start := css.find("var(", i)) >= 0:
        out.append(css[i:start])
        depth, j = 0, start + 3
        while j < len(css):
            depth += {"(": 1, ")": -1}.get(css[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    out.append(css[i:])
    return "".join(out)


def colour_literals(css: str) -> list[str]:
    """The colour literals of a piece of CSS outside comments and ``var()`` fallbacks."""
    text = without_var_fallbacks(COMMENT.sub("", css))
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        found += [
            f"line {number}: {m.group(0)!r} in {line.strip()!r}" for m in LITERAL.finditer(line)
        ]
    return found


def styles() -> list[tuple[str, str]]:
    """``(where, css)`` of every style the project ships."""
    found = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted(ROOT.glob("style/*.css"))]
    for template in sorted((ROOT / "sdcc_lab").rglob("templates/*.html")):
        html = template.read_text()
        where = str(template.relative_to(ROOT))
        found += [(f"{where} <style>", m.group(1)) for m in STYLE_BLOCK.finditer(html)]
        found += [(f"{where} style=", m.group(2)) for m in STYLE_ATTR.finditer(html)]
    found.append(("sdcc_lab/share/pages.py _STYLE", pages._STYLE))
    return found


def test_the_styles_are_found() -> None:
    where = [w for w, _ in styles()]
    assert "style/base.css" in where and "style/resources.css" in where
    assert "sdcc_lab/share/pages.py _STYLE" in where


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("a { color: #1976d2; }", ["'#1976d2'"]),
        ("a { background: rgb(0 0 0 / 50%); }", ["'rgb('"]),
        ("a { border: 1px solid white; }", ["'white'"]),
        ("a { color: var(--jp-ui-font-color1, #222); }", []),
        ("a { color: var(--a, var(--b, rgba(0,0,0,.5))); }", []),
        ("/* #fff */ a { color: CanvasText; }", []),
        ("#sdcc-form .white-space { color: LinkText; }", []),
    ],
)
def test_the_check_finds_literals_outside_fallbacks(css: str, expected: list[str]) -> None:
    found = colour_literals(css)
    assert [f.split(": ", 1)[1].split(" in ")[0] for f in found] == expected


def test_no_hard_coded_colours() -> None:
    found = [f"{where}: {literal}" for where, css in styles() for literal in colour_literals(css)]
    assert not found, "hard-coded colours (use the theme's variables):\n" + "\n".join(found)
