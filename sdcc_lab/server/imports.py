"""Where an imported copy lands, and the recipient's record of past imports.

Import never loses data. The copy of ``owner``'s ``name`` goes to
``{import_dir}/{owner}/{name}``. The record (a small JSON file outside the
user's folders) remembers, for each file an import wrote, which share and
version it holds and the SHA-256 of what was written. Opening a link again:

- the last copy of that share is there and unchanged since written:
  ``unchanged`` when it already holds this version, else ``refreshed`` in place;
- it was changed (or a file of that name is not ours): the new version goes
  beside it, under the first free name ``name-1.ipynb``, ``name-2.ipynb``, … (``copied``);
- it is gone (or there never was one): ``created``.

Names come from the link, that is from another user: :mod:`sdcc_lab.names`
makes them visible (no bidi, zero-width or control characters, NFC), never
hidden (leading dots dropped) and at most 255 bytes with room for the ``-N``.

:class:`Download` receives the snapshot from the service into a part file
next to the target, checking it and adding the provenance as it streams.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tornado import web
from tornado.httputil import HTTPHeaders

from ..folderpack import members
from ..names import NAME_MAX, NUMBER_ROOM, file_segment, fit_bytes
from ..nbstream import InvalidNotebook, NotebookStream

CHUNK = 256 * 1024
PROVENANCE_KEY = "sdcc_lab_share"  # the copy's notebook metadata key


def safe_segment(value: str, fallback: str) -> str:
    """A single path segment a user can see (:func:`sdcc_lab.names.file_segment`):
    no separators, control or format characters, no leading dot, at most 255 bytes."""
    return file_segment(value, fallback)


def notebook_name(source_path: str) -> str:
    """The imported copy's file name: the source's last segment made visible, not
    hidden, ending in ``.ipynb``, with room for a ``-N`` within 255 bytes."""
    return file_segment(source_path.rsplit("/", 1)[-1], "notebook.ipynb", ".ipynb", NUMBER_ROOM)


def numbered(name: str, n: int) -> str:
    """``stem-N.ipynb`` (``stem-N.csv``, ``stem-N`` for a name without suffix); the stem
    is cut (on a character boundary) if it would not fit."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    tail = f"-{n}" + (f".{suffix}" if suffix else "")
    return fit_bytes(stem, NAME_MAX - len(tail.encode("utf-8"))) + tail


def free_name(folder: Path, name: str) -> str:
    """``name`` if no file has it, else the first free ``stem-N.ipynb`` (same suffix)."""
    if not (folder / name).exists():
        return name
    n = 1
    while (folder / numbered(name, n)).exists():
        n += 1
    return numbered(name, n)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Decision:
    action: str  # created | refreshed | unchanged | copied
    name: str  # file name inside the owner's folder


class ImportRecord:
    """The JSON record of past imports (atomic rewrite; callers serialise access)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"imports": {}, "latest": {}}
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError):
            return
        if not isinstance(loaded, dict):
            return
        # A file in the user's data folder: keep only entries of the shape written here.
        imports, latest = loaded.get("imports"), loaded.get("latest")
        if isinstance(imports, dict):
            self.data["imports"] = {k: v for k, v in imports.items() if isinstance(v, dict)}
        if isinstance(latest, dict):
            self.data["latest"] = {k: v for k, v in latest.items() if isinstance(v, str)}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)

    @staticmethod
    def source_key(owner: str, source_path: str) -> str:
        return f"{owner}\n{source_path}"

    def decide(self, folder: Path, name: str, share: dict[str, Any]) -> Decision:
        latest = self.data["latest"]
        candidate = latest.get("share:" + share["id"]) or latest.get(
            self.source_key(share["owner"], share["path"])
        )
        if candidate:
            target = Path(candidate)
            if target.parent == folder and target.exists():
                known = self.data["imports"].get(candidate) or {}
                if known.get("sha256") == file_sha256(target):
                    same = (
                        known.get("share") == share["id"]
                        and known.get("version") == share["version"]
                    )
                    return Decision("unchanged" if same else "refreshed", target.name)
                return Decision("copied", free_name(folder, name))
            if target.parent == folder:
                return Decision("created", target.name)
        if (folder / name).exists():
            return Decision("copied", free_name(folder, name))
        return Decision("created", name)

    def remember(self, target: Path, share: dict[str, Any], sha256: str) -> None:
        key = str(target)
        self.data["imports"][key] = {
            "share": share["id"],
            "owner": share["owner"],
            "source_path": share["path"],
            "version": share["version"],
            "sha256": sha256,
        }
        self.data["latest"]["share:" + share["id"]] = key
        self.data["latest"][self.source_key(share["owner"], share["path"])] = key


class Download:
    """Streams the service's answer into a part file, adding provenance to the metadata."""

    def __init__(self, part: Any, limit: int) -> None:
        self.part = part
        self.limit = limit
        self.headers = HTTPHeaders()
        self.status = 0
        self.share: dict[str, Any] | None = None
        self.stream: NotebookStream | None = None
        self.sha = hashlib.sha256()
        self.size = 0
        self.error = bytearray()
        self.problem: str | None = None

    def on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self.headers = HTTPHeaders()
            self.status = int(line.split(" ", 2)[1])
        elif line.strip():
            self.headers.parse_line(line)

    def on_chunk(self, chunk: bytes) -> None:
        if self.status != 200:
            if len(self.error) < 65536:
                self.error += chunk
            return
        if self.problem:
            return
        if self.stream is None:
            self.share = json.loads(self.headers.get("X-Sdcc-Share", "{}"))
            provenance = {k: self.share.get(k) for k in ("id", "owner", "path", "version")}
            provenance["imported_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            self.stream = NotebookStream(inject=(PROVENANCE_KEY, provenance))
        self.size += len(chunk)
        if self.size > self.limit:
            self.problem = "too big"
            return
        try:
            out = self.stream.feed(chunk)
        except InvalidNotebook as e:
            self.problem = str(e)
            return
        self.sha.update(out)
        self.part.write(out)


class PackDownload(Download):
    """Streams a folder share's pack (a tar) into a part file, up to ``limit`` bytes; it
    is checked whole (:func:`sdcc_lab.folderpack.read_manifest`) before a file is written."""

    def on_chunk(self, chunk: bytes) -> None:
        if self.status != 200:
            if len(self.error) < 65536:
                self.error += chunk
            return
        if self.problem:
            return
        if self.share is None:
            self.share = json.loads(self.headers.get("X-Sdcc-Share", "{}"))
        self.size += len(chunk)
        if self.size > self.limit:
            self.problem = "too big"
            return
        self.part.write(chunk)


@dataclass(frozen=True)
class FilePlaced:
    path: str  # inside the imported folder
    action: str  # created | refreshed | unchanged | copied
    name: str  # where it went, inside the imported folder (a copy beside: another name)


def place_folder(
    record: ImportRecord, dest: Path, pack: Path, share: dict[str, Any]
) -> list[FilePlaced]:
    """Write a checked pack's files under ``dest``: the per-file rules of :meth:`decide`.

    A file is written to a part file beside its target and renamed into place.
    A file the recipient changed keeps its content (the new one goes beside it);
    files missing from the pack are left alone. A folder on the way that is a
    link or a file (the recipient made it) is not written through: the file goes
    nowhere and is reported ``skipped``.
    """
    placed: list[FilePlaced] = []
    top = Path(os.path.realpath(dest))
    mask = umask()
    for name, fh in members(pack):
        target = dest / name
        parent = target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):  # a file of the recipient's is in the way
            placed.append(FilePlaced(name, "skipped", name))
            continue
        if Path(os.path.realpath(parent)) != top / Path(name).parent or target.is_symlink():
            placed.append(FilePlaced(name, "skipped", name))
            continue
        sub = {**share, "id": f"{share['id']}/{name}", "path": f"{share['path']}/{name}"}
        decision = record.decide(parent, target.name, sub)
        fd, part_name = tempfile.mkstemp(prefix=".sdcc-import-", suffix=".part", dir=parent)
        part = Path(part_name)
        try:
            sha = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:
                while chunk := fh.read(CHUNK):
                    sha.update(chunk)
                    out.write(chunk)
            digest = sha.hexdigest()
            action = decision.action
            known = record.data["imports"].get(str(parent / decision.name)) or {}
            if action == "refreshed" and known.get("sha256") == digest:
                action = "unchanged"  # a new version of the folder, not of this file
            if action != "unchanged":
                os.chmod(part, 0o644 & ~mask)
                os.replace(part, parent / decision.name)
            record.remember(parent / decision.name, sub, digest)
        finally:
            part.unlink(missing_ok=True)
        rel = (parent / decision.name).relative_to(dest).as_posix()
        placed.append(FilePlaced(name, action, rel))
    return placed


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def scan_file(path: Path) -> dict[str, Any] | None:
    """Check that a file is a notebook (streaming); its top-level metadata."""
    stream = NotebookStream()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                stream.feed(chunk)
        stream.close()
    except InvalidNotebook as e:
        raise web.HTTPError(400, f"not a valid notebook: {e}") from None
    return stream.metadata
