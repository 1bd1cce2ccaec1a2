"""Parsers of HTCondor outputs: ClassAds in long form, job ads, condor_submit.

(``condor_q -long`` is read as ClassAds; nothing reads ``condor_q -nobatch``'s table.)

Pure functions over text; nothing here runs a command. Output that cannot be
understood raises :class:`HTCondorParseError` with a message.

ClassAd attribute names are case-insensitive: :func:`parse_classad` returns a
:class:`ClassAd`, a ``dict`` whose lookups (``ad["requestcpus"]``, ``in``,
``.get``) ignore case while keeping the names as printed. :func:`get` does the
same for any mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from .errors import SchedulerUnparseable

__all__ = [
    "JOB_STATUS",
    "ClassAd",
    "CondorJob",
    "HTCondorParseError",
    "get",
    "job_from_ad",
    "parse_classad",
    "parse_classads",
    "parse_condor_submit_output",
]


class HTCondorParseError(SchedulerUnparseable):
    """HTCondor output that cannot be understood."""


def _short(text: object, limit: int = 80) -> str:
    s = repr(text)
    return s if len(s) <= limit else s[: limit - 3] + "..."


class ClassAd(dict[str, object]):
    """A ClassAd: a dict keeping attribute names as printed, looked up ignoring case."""

    def __init__(self, items: Iterable[tuple[str, object]] = ()) -> None:
        super().__init__()
        self._names: dict[str, str] = {}
        for key, value in items:
            self[key] = value

    def __setitem__(self, key: str, value: object) -> None:
        old = self._names.get(key.lower())
        if old is not None and old != key:
            super().__delitem__(old)
        self._names[key.lower()] = key
        super().__setitem__(key, value)

    def __getitem__(self, key: str) -> object:
        return super().__getitem__(self._names.get(key.lower(), key))

    def __delitem__(self, key: str) -> None:
        real = self._names.pop(key.lower(), key)
        super().__delitem__(real)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._names

    def pop(self, key: str, *default: object) -> object:
        """Remove ``key`` (any case) and return its value."""
        real = self._names.pop(key.lower(), None)
        if real is None:
            if default:
                return default[0]
            raise KeyError(key)
        return super().pop(real)

    def update(self, *args: object, **kwargs: object) -> None:
        """Set every pair through the case-insensitive index."""
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def get(self, key: str, default: object = None) -> object:
        """The value of ``key`` (any case), else ``default``."""
        real = self._names.get(key.lower())
        return super().__getitem__(real) if real is not None else default


def get(ad: Mapping[str, object], name: str, default: object = None) -> object:
    """``ad[name]`` ignoring case, for any mapping; ``default`` when absent."""
    if isinstance(ad, ClassAd):
        return ad.get(name, default)
    lower = name.lower()
    for key, value in ad.items():
        if key.lower() == lower:
            return value
    return default


_LINE_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=\s?(.*?)\s*$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_REAL_RE = re.compile(r"^[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?$")


def _string_literal(text: str) -> str | None:
    """The value of one whole quoted string, or None when ``text`` is not one.

    Escapes as HTCondor prints them: ``\\"`` is a quote, ``\\\\`` a backslash;
    any other backslash is kept (the old ClassAd syntax of ``-long`` output).
    """
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return None
    out: list[str] = []
    i, end = 1, len(text) - 1
    while i < end:
        ch = text[i]
        if ch == "\\" and i + 1 < end and text[i + 1] in '"\\':
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "\\" and i + 1 == end:
            return None  # the closing quote is escaped: not a whole literal
        if ch == '"':
            return None  # "a" + "b": an expression, not one literal
        out.append(ch)
        i += 1
    return "".join(out)


def _value(text: str) -> object:
    """A ClassAd value: int, float, bool, str, None (UNDEFINED) or the raw expression."""
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    if low == "undefined":
        return None
    if _INT_RE.match(text):
        return int(text)
    if _REAL_RE.match(text):
        return float(text)
    literal = _string_literal(text)
    return literal if literal is not None else text


def _parse_lines(lines: Iterable[tuple[int, str]]) -> ClassAd:
    ad = ClassAd()
    for n, line in lines:
        m = _LINE_RE.match(line)
        if not m or m.group(2) == "":
            raise HTCondorParseError(f"line {n} is not 'Name = value': {_short(line)}")
        ad[m.group(1)] = _value(m.group(2))
    return ad


def _ad_blocks(text: str) -> list[list[tuple[int, str]]]:
    """Numbered lines grouped by blank lines; ``-- Schedd:`` banners dropped."""
    if not isinstance(text, str):
        raise HTCondorParseError(f"ClassAd text must be a string, not {type(text).__name__}")
    blocks: list[list[tuple[int, str]]] = [[]]
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            if blocks[-1]:
                blocks.append([])
        elif not line.startswith("-- "):
            blocks[-1].append((n, line))
    return [b for b in blocks if b]


def parse_classad(text: str) -> ClassAd:
    """One ClassAd in long form (``condor_q -l ID``, a ``_CONDOR_JOB_AD`` file).

    Values: integers, reals, booleans (any case), quoted strings with their
    escapes resolved, ``UNDEFINED`` -> None; anything else (expressions, lists,
    nested ads) is kept as the raw text. A later duplicate attribute wins.
    """
    blocks = _ad_blocks(text)
    if not blocks:
        raise HTCondorParseError("no ClassAd in the text")
    if len(blocks) > 1:
        raise HTCondorParseError(f"expected one ClassAd, found {len(blocks)}")
    return _parse_lines(blocks[0])


def parse_classads(text: str) -> list[ClassAd]:
    """Every ClassAd of ``condor_q -l`` / ``condor_status -l`` (blank-line separated)."""
    return [_parse_lines(b) for b in _ad_blocks(text)]


JOB_STATUS = {
    1: "IDLE",
    2: "RUNNING",
    3: "REMOVED",
    4: "COMPLETED",
    5: "HELD",
    6: "TRANSFERRING_OUTPUT",
    7: "SUSPENDED",
}


@dataclass(frozen=True)
class CondorJob:
    """The facts of a job ad a session shows.

    ``request_memory_bytes`` converts RequestMemory (MiB). A request that is
    still an unevaluated expression reads as None; a missing RequestGPUs as 0.
    ``start_time`` is JobCurrentStartDate in UTC.
    """

    job_id: str
    owner: str | None
    status: str
    hold_reason: str | None
    request_cpus: int | None
    request_memory_bytes: int | None
    request_gpus: int | None
    start_time: datetime | None
    allowed_job_duration_seconds: int | None
    remote_host: str | None
    allowed_execute_duration_seconds: int | None = None
    #: Why the negotiator matched no machine to an idle job (LastRejMatchReason), if said.
    last_rej_match_reason: str | None = None


def _opt_int(ad: Mapping[str, object], name: str) -> int | None:
    """An integer attribute; None when absent, UNDEFINED or an expression."""
    value = get(ad, name)
    if isinstance(value, bool):
        raise HTCondorParseError(f"{name} is a boolean, expected a number")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def _opt_str(ad: Mapping[str, object], name: str) -> str | None:
    value = get(ad, name)
    return value if isinstance(value, str) and value else None


def _required_int(ad: Mapping[str, object], name: str) -> int:
    value = get(ad, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise HTCondorParseError(f"job ad has no integer {name}: {_short(value)}")
    return value


def job_from_ad(ad: Mapping[str, object]) -> CondorJob:
    """A :class:`CondorJob` from a parsed job ad (ClusterId, ProcId, JobStatus required)."""
    if not isinstance(ad, Mapping):
        raise HTCondorParseError(f"a job ad must be a mapping, not {type(ad).__name__}")
    cluster = _required_int(ad, "ClusterId")
    proc = _required_int(ad, "ProcId")
    code = _required_int(ad, "JobStatus")
    status = JOB_STATUS.get(code)
    if status is None:
        raise HTCondorParseError(f"job {cluster}.{proc}: unknown JobStatus {code}")
    memory = _opt_int(ad, "RequestMemory")
    start = _opt_int(ad, "JobCurrentStartDate")
    gpus = get(ad, "RequestGPUs")
    return CondorJob(
        job_id=f"{cluster}.{proc}",
        owner=_opt_str(ad, "Owner"),
        status=status,
        hold_reason=_opt_str(ad, "HoldReason"),
        request_cpus=_opt_int(ad, "RequestCpus"),
        request_memory_bytes=memory << 20 if memory is not None else None,
        request_gpus=0 if gpus is None else _opt_int(ad, "RequestGPUs"),
        start_time=datetime.fromtimestamp(start, timezone.utc) if start else None,
        allowed_job_duration_seconds=_opt_int(ad, "AllowedJobDuration"),
        remote_host=_opt_str(ad, "RemoteHost"),
        allowed_execute_duration_seconds=_opt_int(ad, "AllowedExecuteDuration"),
        last_rej_match_reason=_opt_str(ad, "LastRejMatchReason"),
    )


_SUBMITTED_RE = re.compile(r"^\s*\d+ job\(s\) submitted to cluster (\d+)\.\s*$", re.MULTILINE)
_TERSE_RE = re.compile(r"^\s*(\d+)\.\d+ - (\d+)\.\d+\s*$", re.MULTILINE)


def parse_condor_submit_output(text: str) -> str:
    """The cluster id ``condor_submit`` (or ``condor_submit_dag``) reports.

    Reads ``N job(s) submitted to cluster C.`` or the ``-terse`` form
    ``C.0 - C.4``.
    """
    if not isinstance(text, str):
        raise HTCondorParseError(
            f"condor_submit output must be a string, not {type(text).__name__}"
        )
    clusters = set(_SUBMITTED_RE.findall(text))
    for first, last in _TERSE_RE.findall(text):
        if first != last:
            raise HTCondorParseError(f"condor_submit -terse spans clusters {first} and {last}")
        clusters.add(first)
    if not clusters:
        raise HTCondorParseError(f"condor_submit printed no cluster id: {_short(text)}")
    if len(clusters) > 1:
        raise HTCondorParseError(f"condor_submit printed several clusters: {sorted(clusters)}")
    return str(clusters.pop())
