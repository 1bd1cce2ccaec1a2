"""Slurm's value formats: durations, memory sizes, TRES and GRES lists."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .common import SlurmParseError, _short

# --------------------------------------------------------------------------- durations

_UNLIMITED = frozenset({"", "UNLIMITED", "INFINITE", "NONE"})
_DURATION_RE = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")


def parse_duration(text: str) -> int | None:
    """Seconds in a Slurm time string, or None for no limit.

    Accepts ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH``, ``D-HH:MM`` and
    ``D-HH:MM:SS``; ``UNLIMITED``, ``INFINITE``, ``NONE`` (a partition without
    DefaultTime) and the empty string give None.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"duration must be a string, not {type(text).__name__}")
    s = text.strip()
    if s.upper() in _UNLIMITED:
        return None
    m = _DURATION_RE.match(s)
    if not m:
        raise SlurmParseError(f"invalid Slurm duration {_short(text)}")
    days_s, a, b, c = m.groups()
    x, y, z = int(a), int(b) if b is not None else None, int(c) if c is not None else None
    if days_s is not None:
        # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = x, y or 0, z or 0
        days = int(days_s)
    elif z is not None:  # HH:MM:SS
        days, hours, minutes, seconds = 0, x, y or 0, z
    elif y is not None:  # MM:SS
        days, hours, minutes, seconds = 0, 0, x, y
    else:  # MM
        days, hours, minutes, seconds = 0, 0, x, 0
    if (days_s is not None or z is not None) and (minutes > 59 or seconds > 59):
        raise SlurmParseError(f"invalid Slurm duration {_short(text)}: field out of range")
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


# --------------------------------------------------------------------------- memory

_MEMORY_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGTP]?)$", re.IGNORECASE)
_MEMORY_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def parse_memory(text: str) -> int | None:
    """Bytes in a Slurm memory size (``4000M``, ``62.50G``, ``1T``, ``512K``).

    A plain number is MiB, as in Slurm. ``UNLIMITED``/``INFINITE``/empty give None.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"memory size must be a string, not {type(text).__name__}")
    s = text.strip()
    if s.upper() in ("", "UNLIMITED", "INFINITE"):
        return None
    m = _MEMORY_RE.match(s)
    if not m:
        raise SlurmParseError(f"invalid Slurm memory size {_short(text)}")
    unit = m.group(2).upper() or "M"
    return round(float(m.group(1)) * _MEMORY_UNITS[unit])


# --------------------------------------------------------------------------- TRES / GRES


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=2,mem=8G,node=1,gres/gpu=1`` as a dict; ``(null)``/empty give {}."""
    s = text.strip()
    if s in ("", "(null)", "N/A"):
        return {}
    out: dict[str, str] = {}
    for item in s.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SlurmParseError(f"invalid TRES item {_short(item)} in {_short(text)}")
        out[name.strip()] = value.strip()
    return out


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SlurmParseError(f"{what}: not an integer: {_short(text)}") from None


def gpus_in_tres(tres: Mapping[str, str]) -> tuple[int, tuple[str, ...]] | None:
    """GPU count and types in a parsed TRES dict, or None when it names no GPU.

    The untyped ``gres/gpu=N`` is the total; when it is missing the typed
    ``gres/gpu:TYPE=N`` entries are summed.
    """
    total: int | None = None
    typed: dict[str, int] = {}
    for name, value in tres.items():
        if name == "gres/gpu":
            total = _int(value, f"TRES {name}")
        elif name.startswith("gres/gpu:"):
            typed[name[len("gres/gpu:") :]] = _int(value, f"TRES {name}")
    if total is None and not typed:
        return None
    if total is None:
        total = sum(typed.values())
    return total, tuple(typed)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses (``gpu:2(IDX:0,2),shard:1``)."""
    parts: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _gpus_in_gres_list(text: str) -> tuple[int, tuple[str, ...]] | None:
    """GPUs in a TRES-per-X or GRES string, or None when it names no GPU.

    Accepts the spellings of all versions: ``gpu:2`` (21.08), ``gres:gpu:2``
    (22.05), ``gres/gpu:2``, ``gres/gpu:a100:2``, ``gpu:h100:2(IDX:0-1)``
    (gres_detail), ``gres/gpu=2`` and a bare ``gpu`` (one GPU).
    """
    found = False
    count = 0
    types: list[str] = []
    for item in _split_top_level(text):
        item = item.split("(", 1)[0].replace("=", ":")
        for prefix in ("gres/", "gres:"):
            item = item.removeprefix(prefix)
        parts = item.split(":")
        if parts[0] != "gpu":
            continue
        found = True
        rest = parts[1:]
        n = 1
        if rest and rest[-1].isdigit():
            n = int(rest.pop())
        if rest and rest[0] and rest[0] not in types:
            types.append(rest[0])
        count += n
    return (count, tuple(types)) if found else None
