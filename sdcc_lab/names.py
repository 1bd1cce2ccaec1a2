"""Names a person reads: file names of imported notebooks, names shown on pages.

Share links carry the sender's file name to the recipient, who gets a file of
that name and sees it in dialogs and on the service's pages. A name from a
link is data from another user, so it is made safe to read and to write:

- NFC-normalised (one spelling for "é", whatever the sender's system wrote);
- without control or format characters: C0/C1 controls, bidi controls
  (U+202A–U+202E, U+2066–U+2069, U+061C, U+200E/U+200F), zero-width
  characters (U+200B–U+200D, U+2060, U+FEFF), line and paragraph separators,
  lone surrogates and unassigned code points — they reorder or hide what a
  person reads ("report\u202egnp.ipynb" reads "reportbnpi.png") and lone
  surrogates cannot even be written to a file system;
- as a file name: one path segment (``/`` and ``\\`` become ``_``), never
  hidden (leading dots are dropped: a file that JupyterLab's file browser does
  not show would look like a failed import), and at most 255 bytes in UTF-8
  (``NAME_MAX`` of Linux file systems), cut on a character boundary, keeping
  the extension and leaving room for a ``-N`` number.
"""

from __future__ import annotations

import unicodedata

NAME_MAX = 255  # bytes, Linux NAME_MAX
NUMBER_ROOM = len("-999999")  # bytes kept free for the "-N" of a copy beside an edited one
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Cn", "Zl", "Zp"})


def visible_text(value: str) -> str:
    """``value`` NFC-normalised, without control or format characters."""
    text = unicodedata.normalize("NFC", value)
    return "".join(ch for ch in text if unicodedata.category(ch) not in _DROPPED)


def fit_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that is at most ``limit`` bytes in UTF-8."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: max(limit, 0)].decode("utf-8", errors="ignore")


def file_segment(value: str, fallback: str, suffix: str = "", reserve: int = 0) -> str:
    """One visible, non-hidden path segment of at most 255 bytes, ending in ``suffix``.

    ``reserve`` bytes are left free (for a later ``-N``). ``fallback`` is used when
    nothing of ``value`` remains; it must itself be such a segment.
    """
    text = visible_text(value).replace("/", "_").replace("\\", "_").strip()
    text = text.lstrip(". ").strip()  # never hidden; no name of dots alone
    if suffix and text.lower().endswith(suffix.lower()):
        text = text[: -len(suffix)].rstrip()
    stem = fit_bytes(text, NAME_MAX - reserve - len(suffix.encode("utf-8"))).rstrip()
    if not stem.strip("."):
        return fallback
    return stem + suffix
