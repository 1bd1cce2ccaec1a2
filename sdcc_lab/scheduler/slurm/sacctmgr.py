"""``sacctmgr -nP show ... format=...`` text: associations and QOS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .common import SlurmParseError, _short
from .units import parse_duration, parse_tres

# --------------------------------------------------------------------------- sacctmgr


def _rows(text: str, fields: Sequence[str], what: str) -> list[dict[str, str]]:
    """``sacctmgr -nP`` lines as dicts keyed by lower-case field name.

    A trailing ``|`` (``-p`` rather than ``-P``) is accepted.
    """
    if not isinstance(text, str):
        raise SlurmParseError(f"{what} output must be a string, not {type(text).__name__}")
    if isinstance(fields, str) or not fields:
        raise SlurmParseError(f"{what}: fields must be a non-empty sequence of names")
    names = [f.strip().lower() for f in fields]
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        cols = line.split("|")
        if len(cols) == len(names) + 1 and cols[-1] == "":
            cols.pop()
        if len(cols) != len(names):
            raise SlurmParseError(
                f"{what} line {n} has {len(cols)} fields, expected {len(names)} "
                f"({','.join(names)}): {_short(line)}"
            )
        rows.append({k: v.strip() for k, v in zip(names, cols, strict=True)})
    return rows


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(x for x in (value or "").split(",") if x)


@dataclass(frozen=True)
class Association:
    """A user's association: account, partition (None = any), QOS and limits."""

    user: str | None
    account: str
    partition: str | None
    qos: tuple[str, ...]
    default_qos: str | None
    max_wall_seconds: int | None
    default_account: str | None = None


def parse_associations(
    text: str, fields: Sequence[str], user: str | None = None
) -> list[Association]:
    """``sacctmgr -nP show assoc ... format=<fields>`` (or ``show users withassoc``).

    ``fields`` name the columns as in the format string (case-insensitive);
    user, account, partition, qos, defaultqos, maxwall and defaultaccount are
    read, others ignored. ``user`` fills ``Association.user`` when no user column was asked.
    An empty cell means unset (partition None = any, no QOS, no MaxWall).
    """
    out = []
    for row in _rows(text, fields, "sacctmgr associations"):
        account = row.get("account", "")
        if not account:
            raise SlurmParseError(f"sacctmgr association without an account: {row}")
        out.append(
            Association(
                user=row.get("user") or user,
                account=account,
                partition=row.get("partition") or None,
                qos=_csv(row.get("qos")),
                default_qos=row.get("defaultqos") or None,
                max_wall_seconds=parse_duration(row.get("maxwall", "")),
                default_account=row.get("defaultaccount") or None,
            )
        )
    return out


@dataclass(frozen=True)
class QOS:
    """A QOS of ``sacctmgr show qos``: name, MaxWall (None = none) and flags."""

    name: str
    max_wall_seconds: int | None
    flags: tuple[str, ...]
    #: MaxTRES (per job), e.g. {"cpu": "8", "mem": "16G"}; empty when unset or not asked.
    max_tres: Mapping[str, str] = field(default_factory=dict)


def parse_qos(text: str, fields: Sequence[str]) -> list[QOS]:
    """``sacctmgr -nP show qos format=<fields>`` (name, maxwall, flags read)."""
    out = []
    for row in _rows(text, fields, "sacctmgr qos"):
        name = row.get("name", "")
        if not name:
            raise SlurmParseError(f"sacctmgr qos row without a name: {row}")
        out.append(
            QOS(
                name=name,
                max_wall_seconds=parse_duration(row.get("maxwall", "")),
                flags=_csv(row.get("flags")),
                max_tres=parse_tres(row.get("maxtres", "")),
            )
        )
    return out
