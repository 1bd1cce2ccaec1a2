"""What every Slurm parser shares: its error and the excerpt in messages."""

from __future__ import annotations

from ..errors import SchedulerUnparseable


class SlurmParseError(SchedulerUnparseable):
    """Slurm output that cannot be understood."""


def _short(text: object, limit: int = 80) -> str:
    """A quoted excerpt of ``text`` for error messages."""
    s = repr(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _null(value: str | None) -> str | None:
    """None for Slurm's empty markers: ``(null)``, ``N/A``, ``None``, ``""``."""
    if value is None:
        return None
    v = value.strip()
    return None if v in ("", "(null)", "N/A", "None", "n/a") else v
