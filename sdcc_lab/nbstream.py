"""Check a notebook's JSON in a stream, without holding the file in memory.

Both sides of a share link use this module: the share service checks uploads
with it, the single-user server checks imports with it. It depends on neither.

Share links move whole notebooks (up to the site's limit, 100 MB by default)
through the share service and into the recipient's server. Parsing them with
``json.load`` would hold the text and its parsed objects at once (two to three
times the file). :class:`NotebookStream` reads the bytes chunk by chunk with a
small state machine instead. It checks that the text is well-formed JSON
(brackets, strings, separators, literals) with an object at the top holding
``"nbformat": 4``, an array ``"cells"`` and an object ``"metadata"``; it keeps
a copy of the top-level ``metadata`` (up to a bound) so callers can read the
kernelspec; and it can add one key to that ``metadata`` on the way through,
which is how an imported copy records where it came from.

Nesting is capped (``max_depth``, 64 by default: real notebooks nest about ten
levels): each open bracket costs a stack entry, and a body of nothing but
``[`` would otherwise grow the stack by one entry per byte.
"""

from __future__ import annotations

import json
import re
from typing import Any

_STRING_SPECIAL = re.compile(rb'["\\]')
_NOT_SPACE = re.compile(rb"[^ \t\r\n]")
_LITERAL_CHARS = re.compile(rb"[A-Za-z0-9.+\-]+")
_LITERAL = re.compile(
    rb"^(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$"
)
# A run of scalars (strings, numbers, true/false/null), each followed by a
# comma: the bulk of a notebook (lines of source and output, plotted numbers),
# checked in one regex call instead of one loop turn per value. Each value in
# the run is complete (its comma follows), even when the run ends the chunk;
# the last value of an array goes through the loop.
_SCALAR = (
    rb'(?:"[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*"'
    rb"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)"
)
_SCALARS_WITH_COMMAS = re.compile(rb"(?:" + _SCALAR + rb"[ \t\r\n]*,[ \t\r\n]*)+")
_SCALAR_START = b'"-0123456789tfn'
_MAX_LITERAL = 512
_MAX_KEY = 256
DEFAULT_MAX_DEPTH = 64


def human_size(n: int) -> str:
    """``104857600`` → ``"100 MB"``: how limits are named in messages."""
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def too_big(limit: int) -> str:
    return f"the notebook is larger than the limit of {human_size(limit)}"


def kernelspec_of(metadata: dict[str, Any] | None) -> dict[str, str] | None:
    """The part of a notebook's ``metadata.kernelspec`` a link records (name, display name,
    language; text values only), or None when the notebook names no kernel."""
    kernel = (metadata or {}).get("kernelspec")
    if not isinstance(kernel, dict):
        return None
    return {
        k: v for k in ("name", "display_name", "language") if isinstance(v := kernel.get(k), str)
    }


class InvalidNotebook(ValueError):
    """The bytes are not a notebook (JSON syntax, or the notebook's top-level shape)."""


class NotebookTooDeep(InvalidNotebook):
    """The notebook nests brackets deeper than the limit."""


def too_deep(limit: int) -> str:
    return f"the notebook nests deeper than {limit} levels, the limit of this site"


class NotebookStream:
    """Feed bytes with :meth:`feed` (returns the bytes to write on), then :meth:`close`.

    ``inject``: ``(key, value)`` to set in the top-level metadata of the output
    (appended as the object's last member, so it wins over an older one).
    ``max_depth``: the deepest nesting of objects and arrays accepted
    (:class:`NotebookTooDeep` beyond it).
    """

    def __init__(
        self,
        inject: tuple[str, Any] | None = None,
        metadata_limit: int = 1 << 20,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        self._inject = (
            b"%s:%s" % (json.dumps(inject[0]).encode(), json.dumps(inject[1]).encode())
            if inject
            else None
        )
        self._metadata_limit = metadata_limit
        self.max_depth = max_depth
        self.too_deep = False  # the limit was hit (an import refuses it, not a bad service)
        # Each open container: [kind, state]; kind b"{" or b"["; state one of
        # key_or_end, key, colon, value, value_or_end, comma_or_end.
        self._stack: list[list[Any]] = []
        self._top_state = "value"  # before the document: value; after it: done
        self._in_string = False
        self._escape = False
        self._capture_key: bytearray | None = None
        self._literal = bytearray()
        self._top_key: str | None = None
        self._top_values: dict[str, bytes] = {}
        self._meta_buf: bytearray | None = None
        self._meta_too_big = False
        self._meta_nonempty = False
        self.size = 0

    # --- public -------------------------------------------------------------
    @property
    def metadata(self) -> dict[str, Any] | None:
        """The notebook's top-level metadata, if it was not larger than the bound."""
        if self._meta_buf is None or self._meta_too_big:
            return None
        try:
            value = json.loads(bytes(self._meta_buf))
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def feed(self, chunk: bytes) -> bytes:
        self.size += len(chunk)
        out: list[bytes] = []
        copied = 0
        i = 0
        n = len(chunk)
        meta_from = 0
        while i < n:
            if self._in_string:
                if self._escape:
                    self._escape = False
                    i += 1
                    continue
                m = _STRING_SPECIAL.search(chunk, i)
                if m is None:
                    self._keep_key(chunk, i, n)
                    i = n
                    break
                j = m.start()
                if chunk[j] == 0x5C:  # backslash: skip the escaped byte
                    self._keep_key(chunk, i, j + 1)
                    if j + 1 < n:
                        self._keep_key(chunk, j + 1, j + 2)
                        i = j + 2
                    else:
                        self._escape = True
                        i = n
                    continue
                self._keep_key(chunk, i, j)
                self._in_string = False
                i = j + 1
                self._end_string()
                continue
            m = _NOT_SPACE.search(chunk, i)
            if m is None:
                self._end_literal()
                break
            j = m.start()
            if j > i:
                self._end_literal()
            c = chunk[j : j + 1]
            if c in b'"{}[]:,':
                self._end_literal()
            if (
                c in _SCALAR_START
                and not self._literal
                and len(self._stack) >= 3
                and (self._stack[-1][0] == b"[" and self._stack[-1][1] in ("value", "value_or_end"))
            ):
                run = _SCALARS_WITH_COMMAS.match(chunk, j)
                if run is not None:
                    self._stack[-1][1] = "value"
                    i = run.end()
                    continue
            if c == b'"':
                self._begin_value_or_key(is_string=True)
                self._in_string = True
                i = j + 1
            elif c in b"{[":
                if len(self._stack) >= self.max_depth:
                    self.too_deep = True
                    raise NotebookTooDeep(too_deep(self.max_depth))
                self._begin_value_or_key(is_string=False)
                self._stack.append([c, "key_or_end" if c == b"{" else "value_or_end"])
                if len(self._stack) == 2 and self._top_key == "metadata" and c == b"{":
                    self._meta_buf = bytearray()
                    meta_from = j
                if len(self._stack) == 3 and self._in_metadata():
                    self._meta_nonempty = True
                i = j + 1
            elif c in b"}]":
                if not self._stack:
                    raise InvalidNotebook("unexpected closing bracket")
                kind, state = self._stack[-1]
                if (kind, c) not in ((b"{", b"}"), (b"[", b"]")):
                    raise InvalidNotebook("mismatched brackets")
                if state not in ("comma_or_end", "key_or_end", "value_or_end"):
                    raise InvalidNotebook("a value is missing before a closing bracket")
                closing_metadata = len(self._stack) == 2 and self._in_metadata()
                if closing_metadata:
                    self._grab_meta(chunk, meta_from, j + 1)
                    meta_from = n
                    if self._inject is not None:
                        out.append(chunk[copied:j])
                        out.append((b"," if self._meta_nonempty else b"") + self._inject)
                        copied = j
                self._stack.pop()
                self._value_done(b"{" if kind == b"{" else b"[")
                i = j + 1
            elif c == b":":
                if not self._stack or self._stack[-1][1] != "colon":
                    raise InvalidNotebook("unexpected ':'")
                self._stack[-1][1] = "value"
                i = j + 1
            elif c == b",":
                if not self._stack or self._stack[-1][1] != "comma_or_end":
                    raise InvalidNotebook("unexpected ','")
                self._stack[-1][1] = "key" if self._stack[-1][0] == b"{" else "value"
                if len(self._stack) == 2 and self._in_metadata():
                    self._meta_nonempty = True
                i = j + 1
            else:
                lm = _LITERAL_CHARS.match(chunk, j)
                if lm is None:
                    raise InvalidNotebook(f"unexpected character {c!r}")
                if not self._literal:
                    self._begin_value_or_key(is_string=False, literal=True)
                self._literal += lm.group()
                if len(self._literal) > _MAX_LITERAL:
                    raise InvalidNotebook("a number or literal is too long")
                i = lm.end()
                if i < n:
                    self._end_literal()
        if (
            self._meta_buf is not None
            and self._stack
            and len(self._stack) >= 2
            and self._in_metadata()
        ):
            self._grab_meta(chunk, meta_from, n)
        out.append(chunk[copied:])
        return b"".join(out) if len(out) > 1 else out[0]

    def close(self) -> bytes:
        if self._in_string:
            raise InvalidNotebook("the text ends inside a string")
        self._end_literal()
        if self._stack or self._top_state != "done":
            raise InvalidNotebook("the text ends before the notebook does")
        if self._top_values.get("nbformat") != b"4":
            raise InvalidNotebook("not a version 4 notebook (nbformat must be 4)")
        if self._top_values.get("cells") != b"[":
            raise InvalidNotebook("the notebook has no list of cells")
        if self._top_values.get("metadata") != b"{":
            raise InvalidNotebook("the notebook has no metadata object")
        return b""

    # --- helpers ------------------------------------------------------------
    def _in_metadata(self) -> bool:
        return self._top_key == "metadata" and self._meta_buf is not None

    def _grab_meta(self, chunk: bytes, start: int, end: int) -> None:
        if self._meta_buf is None or self._meta_too_big or start >= end:
            return
        if len(self._meta_buf) + end - start > self._metadata_limit:
            self._meta_too_big = True
            self._meta_buf = bytearray()
            return
        self._meta_buf += chunk[start:end]

    def _keep_key(self, chunk: bytes, start: int, end: int) -> None:
        if self._capture_key is not None and end > start:
            if len(self._capture_key) + end - start > _MAX_KEY:
                self._capture_key = bytearray(b"\0")  # too long to be a key we look for
            else:
                self._capture_key += chunk[start:end]

    def _begin_value_or_key(self, is_string: bool, literal: bool = False) -> None:
        if not self._stack:
            if self._top_state != "value":
                raise InvalidNotebook("text after the end of the notebook")
            if is_string or literal:
                raise InvalidNotebook("a notebook is a JSON object")
            return
        state = self._stack[-1][1]
        if state in ("key", "key_or_end"):
            if not is_string:
                raise InvalidNotebook("an object key must be a string")
            self._capture_key = bytearray() if len(self._stack) == 1 else None
            self._stack[-1][1] = "colon_pending"
            return
        if state not in ("value", "value_or_end"):
            raise InvalidNotebook("a ',' or ':' is missing")
        self._stack[-1][1] = "in_value"

    def _end_string(self) -> None:
        if self._stack and self._stack[-1][1] == "colon_pending":
            self._stack[-1][1] = "colon"
            if len(self._stack) == 1 and self._capture_key is not None:
                try:
                    self._top_key = json.loads(b'"' + bytes(self._capture_key) + b'"')
                except ValueError:
                    self._top_key = None
                self._capture_key = None
            return
        self._value_done(b'"')

    def _end_literal(self) -> None:
        if not self._literal:
            return
        text = bytes(self._literal)
        self._literal = bytearray()
        if not _LITERAL.match(text):
            raise InvalidNotebook(f"{text[:40]!r} is not a JSON value")
        self._value_done(text)

    def _value_done(self, token: bytes) -> None:
        if not self._stack:
            self._top_state = "done"
            return
        if len(self._stack) == 1 and self._top_key is not None:
            self._top_values[self._top_key] = token
            self._top_key = None
        self._stack[-1][1] = "comma_or_end"
