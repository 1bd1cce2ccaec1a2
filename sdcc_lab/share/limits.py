"""Uploads in flight, per user: how many, and the quota bytes they hold.

The share service checks its per-user limits when an upload's headers arrive,
before it reads the body. Uploads still in flight are not in the store yet,
so this process keeps them here: each holds a slot (against
``max_concurrent_uploads``), the bytes it may still store (against the snapshot
quota) and, for a new link, a place among the live links. The store checks
the quota and the live-link count again when it commits, so several service
processes sharing one database still keep to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)  # each upload is its own, whatever its numbers
class Upload:
    user: str
    reserved: int  # quota bytes held while the body streams in
    new_link: bool  # counts against the live-link limit until it commits


class UploadGate:
    def __init__(self) -> None:
        self._uploads: dict[str, list[Upload]] = {}

    def in_flight(self, user: str) -> int:
        return len(self._uploads.get(user, ()))

    def reserved(self, user: str) -> int:
        return sum(u.reserved for u in self._uploads.get(user, ()))

    def new_links(self, user: str) -> int:
        return sum(u.new_link for u in self._uploads.get(user, ()))

    def enter(self, user: str, reserved: int, new_link: bool) -> Upload:
        upload = Upload(user, reserved, new_link)
        self._uploads.setdefault(user, []).append(upload)
        return upload

    def leave(self, upload: Upload) -> None:
        uploads = self._uploads.get(upload.user, [])
        if upload in uploads:
            uploads.remove(upload)
        if not uploads:
            self._uploads.pop(upload.user, None)
