"""A shared folder as one stream: an uncompressed tar of its notebooks and data files.

Both sides of a folder share use this module: the single-user server packs a
folder (:func:`list_folder`, :func:`write_pack`), the share service checks what
it receives (:func:`read_manifest`) and the recipient's server checks it again
before it writes a single file. Files stream through in chunks; nothing holds a
whole file, let alone a whole folder, in memory.

What travels: regular files below the folder, at any depth. Left out (and named,
so the dialog can say so): hidden files and folders (a leading dot, which covers
``.ipynb_checkpoints``), symbolic links that lead out of the folder or to a
folder, and anything that is not a regular file (sockets, fifos, devices). A
link to a file inside the folder travels as a copy of that file. Links are
never followed out of the folder: the target's bytes are never read.
"""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .nbstream import human_size

CHUNK = 256 * 1024


def pack_limit(max_files: int, max_bytes: int) -> int:
    """The largest pack of a folder within the caps: its files, plus per file a header,
    a long name's pax header (paths up to 4096 bytes) and padding, plus the tar's end."""
    return max_bytes + max_files * 6 * 1024 + 20 * 1024


class FolderTooBig(ValueError):
    """The folder passes a cap (count or bytes); the message names the cap."""


class BadPack(ValueError):
    """A pack that is not one this module writes (a name leading out, a link, a device)."""


def too_many_files(limit: int, count: int) -> str:
    return f"the folder has {count} files, more than the limit of {limit} files"


def too_many_bytes(limit: int, size: int) -> str:
    return f"the folder's files take {human_size(size)}, more than the limit of {human_size(limit)}"


@dataclass
class FolderListing:
    """What a folder share takes (``files``: relative path, size) and leaves out (path, why)."""

    files: list[tuple[str, int]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)

    def check(self, max_files: int, max_bytes: int) -> None:
        if len(self.files) > max_files:
            raise FolderTooBig(too_many_files(max_files, len(self.files)))
        if self.size > max_bytes:
            raise FolderTooBig(too_many_bytes(max_bytes, self.size))


def list_folder(folder: Path, max_files: int, max_bytes: int) -> FolderListing:
    """The files of ``folder`` a share takes, checked against the caps (``FolderTooBig``).

    Stops counting as soon as a cap is passed: a huge tree is not walked to its end.
    """
    top = Path(os.path.realpath(folder))
    listing = FolderListing()
    total = 0
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(top / rel_dir if rel_dir else top) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.name.startswith("."):
                    listing.left_out.append((rel, "hidden"))
                    continue
                if entry.is_symlink():
                    real = Path(os.path.realpath(entry.path))
                    if not real.is_relative_to(top):
                        listing.left_out.append((rel, "a link that leads out of the folder"))
                        continue
                    if not real.is_file():
                        listing.left_out.append((rel, "a link to a folder"))
                        continue
                    size = real.stat().st_size
                elif entry.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                else:
                    listing.left_out.append((rel, "not a regular file"))
                    continue
                try:
                    rel.encode("utf-8")
                except UnicodeEncodeError:
                    listing.left_out.append((rel, "its name is not valid UTF-8"))
                    continue
                listing.files.append((rel, size))
                total += size
                if len(listing.files) > max_files or total > max_bytes:
                    listing.check(max_files, max_bytes)
    listing.files.sort()
    return listing


class _Exactly:
    """Reads exactly ``size`` bytes of an open file (zeros if it shrank meanwhile), so a
    file that changes while it is packed never breaks the tar's framing."""

    def __init__(self, fh: IO[bytes], size: int) -> None:
        self.fh, self.left = fh, size

    def read(self, n: int = CHUNK) -> bytes:
        n = min(n, self.left)
        data = self.fh.read(n)
        data += b"\0" * (n - len(data))
        self.left -= n
        return data


def write_pack(folder: Path, listing: FolderListing, out: IO[bytes]) -> None:
    """Write ``listing``'s files of ``folder`` as a tar stream to ``out`` (chunked).

    Each file is opened without following a final link and re-checked to be a
    regular file inside the folder, so a link swapped in after the listing is
    not followed either.
    """
    top = Path(os.path.realpath(folder))
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for rel, _ in listing.files:
            path = top / rel
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(top):
                continue  # became a link out of the folder since it was listed
            try:
                fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # gone (or replaced by a link) since it was listed
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    continue
                info = tarfile.TarInfo(rel)
                info.size = st.st_size
                info.mtime = int(st.st_mtime)
                info.mode = 0o644
                tar.addfile(info, _Exactly(fh, st.st_size))


def safe_member_name(name: str) -> bool:
    """A relative path of visible segments: no ``..``, no absolute path, nothing hidden."""
    if not name or name.startswith("/") or "\\" in name or "\0" in name:
        return False
    return all(
        seg and seg not in (".", "..") and not seg.startswith(".") for seg in name.split("/")
    )


def read_manifest(pack: Path, max_files: int, max_bytes: int) -> list[tuple[str, int]]:
    """The files in a pack (path, size), checked: regular files with safe names only, each
    once, within the caps. Reads headers only (tar seeks past the data)."""
    files: list[tuple[str, int]] = []
    seen: set[str] = set()
    total = 0
    try:
        with tarfile.open(pack, mode="r:") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isreg():
                    raise BadPack(f"{member.name!r} is not a regular file")
                if not safe_member_name(member.name) or member.name in seen:
                    raise BadPack(f"{member.name!r} is not a file name a folder share takes")
                seen.add(member.name)
                files.append((member.name, member.size))
                total += member.size
                if len(files) > max_files:
                    raise FolderTooBig(too_many_files(max_files, len(files)))
                if total > max_bytes:
                    raise FolderTooBig(too_many_bytes(max_bytes, total))
    except tarfile.TarError as e:
        raise BadPack(f"not a folder pack: {e}") from None
    return sorted(files)


def members(pack: Path) -> Any:
    """Iterate ``(name, file object)`` over a pack's regular files (checked beforehand)."""
    with tarfile.open(pack, mode="r:") as tar:
        for member in tar:
            if member.isreg():
                fh = tar.extractfile(member)
                if fh is not None:
                    yield member.name, fh
