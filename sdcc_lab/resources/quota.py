"""The home folder's storage: usage against its quota, from the cheapest source that answers.

Sources, tried in :attr:`QuotaReader.sources` order (cheapest first):

- ``quota`` — Linux quota-tools (local file systems and NFS through rquotad),
  ``quota -w`` (one line per file system; wrapped lines are read too);
- ``lfs`` — Lustre's ``lfs quota -u USER HOME``;
- ``mmlsquota`` — IBM Storage Scale (GPFS) ``mmlsquota -u USER``;
- ``df`` — no quota: the file system's own size and free space
  (:func:`shutil.disk_usage`).

A source that fails, times out, or reports no quota for the home's file
system hands over to the next. Commands are argument lists (``{username}``
and ``{home}`` are substituted as whole arguments; no shell), run by the
server — which already is the user — with a timeout, through
:mod:`sdcc_lab.scheduler.commands`. One reading per :attr:`QuotaReader.interval`
is shared by every tab, and a poll never waits for it: it gets the last
reading at once while a new one runs in the background.

The parsers are tested on real outputs recorded on sites' machines
(tests/fixtures/quota/, sources in tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from traitlets import Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..scheduler.cache import TTLCache
from ..scheduler.commands import run_command
from ..scheduler.errors import SchedulerError

KIB = 1024
_UNITS = {"": 1, "k": KIB, "m": KIB**2, "g": KIB**3, "t": KIB**4, "p": KIB**5, "e": KIB**6}
_SIZE = re.compile(r"^\[?(\d+(?:\.\d+)?)([KkMmGgTtPpEe]?)(?:i?B)?\]?(\*?)$")
_KNOWN_SOURCES = ("quota", "lfs", "mmlsquota", "df")


@dataclass(frozen=True)
class QuotaEntry:
    """One file system's line of a quota report; sizes in bytes, ``None`` = no limit."""

    filesystem: str
    used_bytes: int
    soft_bytes: int | None
    hard_bytes: int | None
    grace: str | None = None  # time left over the soft limit, in the tool's words
    over_soft: bool = False


@dataclass(frozen=True)
class Storage:
    """What the panel shows for the home folder."""

    path: str
    source: str  # quota, lfs, mmlsquota or df
    filesystem: str | None
    used_bytes: int
    soft_bytes: int | None
    hard_bytes: int | None  # for df: the file system's size
    grace: str | None = None
    over_soft: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "filesystem": self.filesystem,
            "used_bytes": self.used_bytes,
            "soft_bytes": self.soft_bytes,
            "hard_bytes": self.hard_bytes,
            "grace": self.grace,
            "over_soft": self.over_soft,
        }


def size_bytes(text: str, unit: int = KIB) -> tuple[int, bool] | None:
    """``1222M``, ``792.3M``, ``2097156*``, ``[1041408]`` -> (bytes, over); plain numbers x ``unit``."""
    m = _SIZE.match(text.strip())
    if m is None:
        return None
    number, suffix, star = m.groups()
    factor = _UNITS[suffix.lower()] if suffix else unit
    return round(float(number) * factor), bool(star)


def _limit(value: int) -> int | None:
    return value if value > 0 else None  # 0 means "no limit" in every tool


def _grace(text: str | None) -> str | None:
    if text is None or text in ("", "-", "none", "0"):
        return None
    return text


def _rows(lines: list[str], is_header: Callable[[str], bool]) -> Iterable[list[str]]:
    """Data rows after a header; a file system name alone on its line is joined to the next."""
    pending: str | None = None
    seen_header = False
    for line in lines:
        if is_header(line):
            seen_header, pending = True, None
            continue
        if not seen_header or not line.strip():
            continue
        fields = line.split()
        if len(fields) == 1 and pending is None and size_bytes(fields[0]) is None:
            pending = fields[0]  # quota/lfs wrap a long device name onto its own line
            continue
        if pending is not None:
            fields = [pending, *fields]
            pending = None
        yield fields


def parse_quota(text: str) -> list[QuotaEntry]:
    """Linux quota-tools' ``quota`` (``-w``, ``-s`` or neither; 1 KiB blocks unless suffixed).

    Columns: file system, blocks, quota, limit, [grace], files, quota, limit, [grace].
    The grace column is blank until the soft limit is passed (then blocks has a ``*``).
    ``Disk quotas for user X (uid N): none`` -> no entry.
    """
    out: list[QuotaEntry] = []
    for f in _rows(
        text.splitlines(),
        lambda s: (
            s.split()[:2] == ["Filesystem", "blocks"] or s.split()[:2] == ["Filesystem", "space"]
        ),
    ):
        if len(f) < 7:
            continue
        used, quota, limit = (size_bytes(x) for x in f[1:4])
        if used is None or quota is None or limit is None:
            continue
        # With 9 fields the block grace is f[4]; with 7 or 8 it is blank (or only the files').
        grace = f[4] if len(f) >= 9 or (len(f) == 8 and size_bytes(f[4]) is None) else None
        out.append(
            QuotaEntry(f[0], used[0], _limit(quota[0]), _limit(limit[0]), _grace(grace), used[1])
        )
    return out


def parse_lfs_quota(text: str) -> list[QuotaEntry]:
    """Lustre's ``lfs quota [-h] -u USER PATH`` (kbytes, or ``-h`` units such as ``792.3M``).

    A value in brackets is one some servers did not report (still the best
    figure); ``*`` marks a passed limit; grace is ``-`` or a time such as ``6d23h59m``.
    """
    out: list[QuotaEntry] = []
    for f in _rows(text.splitlines(), lambda s: s.split()[:1] == ["Filesystem"]):
        if len(f) < 8:
            continue
        used, quota, limit = (size_bytes(x) for x in f[1:4])
        if used is None or quota is None or limit is None:
            continue
        out.append(
            QuotaEntry(f[0], used[0], _limit(quota[0]), _limit(limit[0]), _grace(f[4]), used[1])
        )
    return out


def parse_mmlsquota(text: str) -> list[QuotaEntry]:
    """IBM Storage Scale's ``mmlsquota`` (``KB`` columns, or ``--block-size`` G/auto).

    Row: file system, type (USR/GRP/FILESET), used, quota, limit, in_doubt,
    grace | files... . ``no limits`` rows give usage without limits; the grace
    column is ``none`` under the soft limit, else a time left or ``expired``.
    """
    out: list[QuotaEntry] = []
    unit = KIB
    for line in text.splitlines():
        fields = line.split()
        if fields[:2] == ["Filesystem", "type"] or fields[:2] == ["Name", "type"]:
            unit = {"KB": KIB, "MB": KIB**2, "GB": KIB**3, "TB": KIB**4}.get(fields[2], KIB)
            continue
        if len(fields) < 3 or fields[1] not in ("USR", "GRP", "FILESET"):
            continue
        if fields[2:4] == ["no", "limits"]:
            continue  # no quota here: another source says more
        block = line.split("|", 1)[0].split()
        if len(block) < 7:
            continue
        used, quota, limit = (size_bytes(x, unit) for x in block[2:5])
        if used is None or quota is None or limit is None:
            continue
        grace = " ".join(block[6:])
        soft = _limit(quota[0])
        out.append(
            QuotaEntry(
                fields[0],
                used[0],
                soft,
                _limit(limit[0]),
                _grace(grace),
                soft is not None and used[0] > soft,
            )
        )
    return out


PARSERS: dict[str, Callable[[str], list[QuotaEntry]]] = {
    "quota": parse_quota,
    "lfs": parse_lfs_quota,
    "mmlsquota": parse_mmlsquota,
}


def mount_of(path: str, mountinfo: str | None = None) -> tuple[str, str, str] | None:
    """(mount point, device/source, fs type) of the mount holding ``path`` (/proc/self/mountinfo)."""
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo") as fh:
                mountinfo = fh.read()
        except OSError:
            return None
    best: tuple[str, str, str] | None = None
    real = os.path.realpath(path)
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        parts, rest = left.split(), right.split()
        if not sep or len(parts) < 5 or len(rest) < 2:
            continue
        point = parts[4].replace("\\040", " ")
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, rest[1], rest[0])
    return best


def pick(
    entries: list[QuotaEntry], home: str, mount: tuple[str, str, str] | None
) -> QuotaEntry | None:
    """The entry of the home's file system: by device, mount point or GPFS name; else the only one."""
    with_limits = [e for e in entries if e.soft_bytes is not None or e.hard_bytes is not None]
    if mount is not None:
        point, device, _ = mount
        for e in with_limits:
            name = e.filesystem
            if name in (device, point, home) or (
                name not in ("./", ".") and os.path.basename(device) == name
            ):
                return e
    if len(with_limits) == 1:
        return with_limits[0]
    return None


class QuotaReader(LoggingConfigurable):
    """The home's usage and quota, read once per period for every tab (see the module)."""

    sources = List(
        Unicode(),
        default_value=["quota", "lfs", "mmlsquota", "df"],
        help="""Where the home folder's quota is read, tried in this order (cheapest first):
        ``quota`` (Linux quota-tools: local and NFS), ``lfs`` (Lustre), ``mmlsquota``
        (GPFS), ``df`` (no quota: the file system's free space). A source that fails or
        knows no quota for the home hands over to the next. Sites list only theirs, e.g.
        ``c.QuotaReader.sources = ["lfs", "df"]``.
        """,
    ).tag(config=True)
    quota_command = List(
        Unicode(),
        default_value=["quota", "-w"],
        help="""The quota-tools command (no shell; ``{username}`` and ``{home}`` are replaced).
        Example: ``c.QuotaReader.quota_command = ["/usr/bin/quota", "-w", "-f", "{home}"]``.
        """,
    ).tag(config=True)
    lfs_command = List(
        Unicode(),
        default_value=["lfs", "quota", "-u", "{username}", "{home}"],
        help="""The Lustre command. Example:
        ``c.QuotaReader.lfs_command = ["lfs", "quota", "-u", "{username}", "/lustre/home"]``.
        """,
    ).tag(config=True)
    mmlsquota_command = List(
        Unicode(),
        default_value=["mmlsquota", "-u", "{username}"],
        help="""The GPFS command (its KB or ``--block-size`` output is read). Example:
        ``c.QuotaReader.mmlsquota_command = ["/usr/lpp/mmfs/bin/mmlsquota", "-u", "{username}", "home"]``.
        """,
    ).tag(config=True)
    timeout = Float(
        10.0,
        help="""Seconds a quota command may take before it is abandoned (the next source is tried).
        Example: ``c.QuotaReader.timeout = 20``.
        """,
    ).tag(config=True)
    interval = Float(
        300.0,
        help="""Seconds between two quota readings, shared by every tab (quota servers are slow
        and shared: ask seldom). Example: ``c.QuotaReader.interval = 600``.
        """,
    ).tag(config=True)
    home = Unicode(
        "",
        help="""The folder whose storage is shown (default: the server's root directory, else $HOME).
        Example: ``c.QuotaReader.home = "/home/{username}"``.
        """,
    ).tag(config=True)
    warning_share = Float(
        0.9,
        help="""Share of the hard limit (or of the soft limit where there is no hard one) from which
        the panel warns that the home is nearly full. Example: ``c.QuotaReader.warning_share = 0.8``.
        """,
    ).tag(config=True)

    def __init__(
        self,
        home: str | None = None,
        username: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.username = username or getpass.getuser()
        path = self.home or home or os.path.expanduser("~")
        self.path = path.replace("{username}", self.username)
        self.problem: str | None = None
        self._cache: TTLCache[None, Storage | None] = TTLCache(self.interval, clock=clock)
        self._task: asyncio.Task[Storage | None] | None = None

    def _argv(self, template: list[str]) -> list[str]:
        return [
            a.replace("{username}", self.username).replace("{home}", self.path) for a in template
        ]

    async def _from(self, source: str) -> Storage | None:
        if source == "df":
            usage = await asyncio.get_running_loop().run_in_executor(
                None, shutil.disk_usage, self.path
            )
            mount = mount_of(self.path)
            return Storage(
                self.path, "df", mount[0] if mount else None, usage.used, None, usage.total
            )
        command = {
            "quota": self.quota_command,
            "lfs": self.lfs_command,
            "mmlsquota": self.mmlsquota_command,
        }[source]
        result = await run_command(self._argv(list(command)), timeout=self.timeout)
        entry = pick(PARSERS[source](result.stdout), self.path, mount_of(self.path))
        if entry is None:
            return None
        return Storage(
            self.path,
            source,
            entry.filesystem,
            entry.used_bytes,
            entry.soft_bytes,
            entry.hard_bytes,
            entry.grace,
            entry.over_soft,
        )

    async def read(self) -> Storage | None:
        """Ask the sources in order now (the cache's fetch); never raises."""
        problems: list[str] = []
        for source in self.sources:
            if source not in _KNOWN_SOURCES:
                problems.append(f"unknown quota source {source!r}")
                continue
            try:
                storage = await self._from(source)
            except (SchedulerError, OSError) as e:
                problems.append(f"{source}: {e}")
                continue
            if storage is not None:
                # what the sources before failed on: an admin sees why df answered, say
                self.problem = "; ".join(problems) or None
                return storage
            problems.append(f"{source}: no quota for {self.path}")
        self.problem = "; ".join(problems) or "no storage source configured"
        self.log.debug("sdcc_lab storage: %s", self.problem)
        return None

    def current(self) -> Storage | None:
        """The last reading at once; starts a new one in the background when the period is over."""
        young = self._cache._young(None) is not None
        if not young and (self._task is None or self._task.done()):
            self._task = asyncio.ensure_future(self._cache.get(None, self.read))
        return self._cache.last_value(None)

    def to_json(self) -> dict[str, Any]:
        """The answer's ``storage`` object (``null`` values until a first reading)."""
        storage = self.current()
        return {
            **(
                storage.to_json()
                if storage is not None
                else {
                    "path": self.path,
                    "source": None,
                    "filesystem": None,
                    "used_bytes": None,
                    "soft_bytes": None,
                    "hard_bytes": None,
                    "grace": None,
                    "over_soft": False,
                }
            ),
            "warning_share": self.warning_share,
            "problem": self.problem,
        }
