"""The share store: one SQL row per share, one snapshot file per shared file.

Records live in any SQLAlchemy database (SQLite under the hub's data folder by
default; PostgreSQL when several hubs share one store). Snapshots (the last
saved version of the shared notebook) are files in ``snapshot_dir``, written
to a temporary file and renamed into place, so a reader sees either the old
version or the new one, never half of one. Several hubs sharing one database
must share that folder too.

Every live link of one owner's file shares one snapshot (the record's
``snapshot_key`` names it): a new link or a new version of the file replaces
it for all of them. The file goes when the last of those links is revoked,
or by the purge once they have all expired. What an owner's snapshots take
is counted once per file, against the service's per-user quota.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored naive in UTC, always returned timezone-aware (SQLite drops the zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class ShareRecord(Base):
    __tablename__ = "sdcc_lab_shares"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    path: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(Text, default="{}")
    created: Mapped[datetime] = mapped_column(UTCDateTime)
    expires: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    opens: Mapped[int] = mapped_column(Integer, default=0)
    last_opened: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_size: Mapped[int] = mapped_column(Integer, default=0)
    has_snapshot: Mapped[bool] = mapped_column(Boolean, default=False)
    # The snapshot file this link shows, shared by the live links of one file.
    # NULL in records written before it existed: their key is their id.
    snapshot_key: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)

    @property
    def key(self) -> str:
        return self.snapshot_key or self.id

    def is_live(self, now: datetime) -> bool:
        return self.revoked is None and self.expires > now

    def env(self) -> dict[str, Any]:
        value = json.loads(self.environment or "{}")
        return value if isinstance(value, dict) else {}


Records = list[ShareRecord]  # (``ShareStore.list`` shadows the builtin in its class)


@dataclass(frozen=True)
class ShareInfo:
    """A detached copy of a record, safe to use after the session closed."""

    id: str
    owner: str
    path: str
    environment: dict[str, Any]
    created: datetime
    expires: datetime
    revoked: datetime | None
    opens: int
    last_opened: datetime | None
    version: int
    snapshot_size: int
    snapshot_key: str = ""

    @classmethod
    def of(cls, r: ShareRecord) -> ShareInfo:
        return cls(
            r.id,
            r.owner,
            r.path,
            r.env(),
            r.created,
            r.expires,
            r.revoked,
            r.opens,
            r.last_opened,
            r.version,
            r.snapshot_size,
            r.key,
        )

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def is_live(self, now: datetime) -> bool:
        return self.revoked is None and self.expires > now


class AudienceRecord(Base):
    """One name a restricted share is addressed to: a hub user or a hub group.

    A share with no rows here is for anyone on the hub who holds its link.
    """

    __tablename__ = "sdcc_lab_share_audience"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    share_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "user" or "group"
    name: Mapped[str] = mapped_column(String(255), index=True)


class AccessRecord(Base):
    """A user opened (``open``) or imported (``import``, with the version) a share."""

    __tablename__ = "sdcc_lab_share_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    share_id: Mapped[str] = mapped_column(String(32), index=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class FolderRecord(Base):
    """The files of a folder share's snapshot (a tar of them, :mod:`sdcc_lab.folderpack`).

    One row per snapshot file that holds a folder; a share whose snapshot has no
    row here is a notebook share.
    """

    __tablename__ = "sdcc_lab_share_folders"

    snapshot_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    files: Mapped[str] = mapped_column(Text, default="[]")  # JSON [[path, size], ...]


FolderFiles = list[tuple[str, int]]


@dataclass(frozen=True)
class Audience:
    """Who a share is for; empty (``users`` and ``groups`` both) means anyone with the link."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.groups)

    def admits(self, user: str, groups: set[str] | frozenset[str]) -> bool:
        return not self or user in self.users or bool(groups & set(self.groups))

    def model(self) -> dict[str, list[str]] | None:
        return {"users": list(self.users), "groups": list(self.groups)} if self else None


@dataclass(frozen=True)
class Access:
    share_id: str
    user: str
    action: str
    version: int
    at: datetime


class LimitReached(Exception):
    """A per-user limit refuses the change; nothing was written."""

    def __init__(self, what: str, limit: int, used: int) -> None:
        super().__init__(what)
        self.what, self.limit, self.used = what, limit, used


def renamed_path(path: str, old: str, new: str) -> str | None:
    """``path`` after ``old`` (a file or a folder) became ``new``; None if it is not below ``old``."""
    if path == old:
        return new
    if path.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + path[len(old.rstrip("/")) :]
    return None


class ShareStore:
    """The share records (SQLAlchemy) and their snapshots (files).

    ``clock`` says what time it is for expiry (UTC, timezone-aware); tests pass
    one they move instead of waiting for a link to expire.
    """

    def __init__(
        self, db_url: str, snapshot_dir: str | Path, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.clock = clock
        self.engine: Engine = create_engine(db_url, future=True)
        Base.metadata.create_all(self.engine)
        self._add_snapshot_key()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.snapshot_dir = Path(snapshot_dir)
        self.snapshot_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _add_snapshot_key(self) -> None:
        """Stores made before links shared snapshots lack the column: add it (NULL: the id)."""
        columns = {c["name"] for c in inspect(self.engine).get_columns(ShareRecord.__tablename__)}
        if "snapshot_key" not in columns:
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        f"ALTER TABLE {ShareRecord.__tablename__} ADD COLUMN snapshot_key VARCHAR(32)"
                    )
                )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # --- records ----------------------------------------------------------------
    def create(
        self,
        owner: str,
        path: str,
        environment: dict[str, Any],
        lifetime: timedelta,
        snapshot: tuple[Path, int] | None = None,
        max_live: int | None = None,
        quota: int | None = None,
        audience: Audience = Audience(),
        folder_files: FolderFiles | None = None,
    ) -> ShareInfo:
        """A new link of ``owner``'s ``path``, with its snapshot (``(part file, size)``),
        for ``audience`` (empty: anyone on the hub with the link).

        The snapshot becomes the one of every live link of that file. Raises
        :class:`LimitReached` (and writes nothing; the part file stays the
        caller's) when ``max_live`` links live already or ``quota`` bytes would
        be passed.
        """
        now = self.clock()
        with self.session() as s:
            live = self._live(s, owner, now)
            if max_live is not None and len(live) >= max_live:
                raise LimitReached("live links", max_live, len(live))
            group = [r for r in live if r.path == path]
            key = group[0].key if group else secrets.token_hex(8)
            record = ShareRecord(
                id=secrets.token_hex(8),
                owner=owner,
                path=path,
                environment=json.dumps(environment, sort_keys=True),
                created=now,
                expires=now + lifetime,
                revoked=None,
                opens=0,
                last_opened=None,
                version=0,
                snapshot_size=0,
                has_snapshot=False,
                snapshot_key=key,
            )
            s.add(record)
            for kind, names in (("user", audience.users), ("group", audience.groups)):
                s.add_all(AudienceRecord(share_id=record.id, kind=kind, name=n) for n in names)
            if snapshot is not None:
                self._replace_snapshot(s, live, [*group, record], key, snapshot, quota)
            if folder_files is not None:
                self._set_folder(s, key, folder_files)
        return ShareInfo.of(record)

    # --- folder shares ---------------------------------------------------------------
    def _set_folder(self, s: Session, key: str, files: FolderFiles) -> None:
        row = s.get(FolderRecord, key)
        if row is None:
            row = FolderRecord(snapshot_key=key)
            s.add(row)
        row.files = json.dumps([[p, n] for p, n in files])

    def folder_files(self, keys: list[str]) -> dict[str, FolderFiles]:
        """The file list of each of ``keys`` that is a folder's snapshot."""
        with self.session() as s:
            q = select(FolderRecord).where(FolderRecord.snapshot_key.in_(keys))
            return {
                r.snapshot_key: [(str(p), int(n)) for p, n in json.loads(r.files or "[]")]
                for r in s.scalars(q)
            }

    # --- audiences and accesses ------------------------------------------------------
    def audience(self, share_id: str) -> Audience:
        return self.audiences([share_id]).get(share_id, Audience())

    def audiences(self, share_ids: list[str]) -> dict[str, Audience]:
        """The audience of each of ``share_ids`` that has one."""
        found: dict[str, tuple[list[str], list[str]]] = {}
        with self.session() as s:
            q = select(AudienceRecord).where(AudienceRecord.share_id.in_(share_ids))
            for a in s.scalars(q.order_by(AudienceRecord.id)):
                users, groups = found.setdefault(a.share_id, ([], []))
                (users if a.kind == "user" else groups).append(a.name)
        return {k: Audience(tuple(u), tuple(g)) for k, (u, g) in found.items()}

    def addressed_to(self, user: str, groups: set[str] | frozenset[str]) -> list[ShareInfo]:
        """Every share (live or not) addressed to ``user`` or one of ``groups``, or that
        ``user`` opened or imported: newest first."""
        with self.session() as s:
            named = select(AudienceRecord.share_id).where(
                ((AudienceRecord.kind == "user") & (AudienceRecord.name == user))
                | ((AudienceRecord.kind == "group") & AudienceRecord.name.in_(list(groups)))
            )
            used = select(AccessRecord.share_id).where(AccessRecord.user == user)
            q = (
                select(ShareRecord)
                .where(ShareRecord.id.in_(named) | ShareRecord.id.in_(used))
                .where(ShareRecord.owner != user)
                .order_by(ShareRecord.created.desc())
            )
            return [ShareInfo.of(r) for r in s.scalars(q)]

    def record_access(self, share_id: str, user: str, action: str, version: int = 0) -> None:
        """Record an import, or a user's first open (later opens add nothing: the
        inbox only needs to know they opened it, and the table stays small)."""
        with self.session() as s:
            if action == "open" and s.scalar(
                select(AccessRecord.id)
                .where(AccessRecord.share_id == share_id, AccessRecord.user == user)
                .limit(1)
            ):
                return
            s.add(
                AccessRecord(
                    share_id=share_id, user=user, action=action, version=version, at=self.clock()
                )
            )

    def accesses(self, share_ids: list[str], user: str | None = None) -> list[Access]:
        """The opens and imports of ``share_ids`` (only ``user``'s when given), oldest first."""
        with self.session() as s:
            q = select(AccessRecord).where(AccessRecord.share_id.in_(share_ids))
            if user is not None:
                q = q.where(AccessRecord.user == user)
            return [
                Access(a.share_id, a.user, a.action, a.version, a.at)
                for a in s.scalars(q.order_by(AccessRecord.at, AccessRecord.id))
            ]

    def get(self, share_id: str) -> ShareInfo | None:
        with self.session() as s:
            r = s.get(ShareRecord, share_id)
            return ShareInfo.of(r) if r else None

    def list(self, owner: str | None = None, live_only: bool = True) -> list[ShareInfo]:
        now = self.clock()
        with self.session() as s:
            q = select(ShareRecord).order_by(ShareRecord.created.desc())
            if owner is not None:
                q = q.where(ShareRecord.owner == owner)
            if live_only:
                q = q.where(ShareRecord.revoked.is_(None), ShareRecord.expires > now)
            return [ShareInfo.of(r) for r in s.scalars(q)]

    def count_live(self, owner: str) -> int:
        return len(self.list(owner))

    def snapshot_bytes(self, owner: str, except_path: str | None = None) -> tuple[int, int]:
        """What ``owner``'s live snapshots take: (in all, other than ``except_path``'s)."""
        with self.session() as s:
            live = self._live(s, owner, self.clock())
            mine = {r.key for r in live if r.path == except_path}
            sizes = {r.key: r.snapshot_size for r in live if r.has_snapshot}
        total = sum(sizes.values())
        return total, total - sum(size for key, size in sizes.items() if key in mine)

    def revoke(self, share_id: str) -> bool:
        with self.session() as s:
            r = s.get(ShareRecord, share_id)
            if r is None:
                return False
            if r.revoked is None:
                r.revoked = self.clock()
            key = r.key
        self._drop_unused({key})
        return True

    def record_open(self, share_id: str) -> None:
        # One UPDATE, counted by the database: no lost opens when several hubs share it.
        with self.session() as s:
            s.execute(
                update(ShareRecord)
                .where(ShareRecord.id == share_id)
                .values(opens=ShareRecord.opens + 1, last_opened=self.clock())
            )

    def rename(self, owner: str, old: str, new: str) -> int:
        """Follow a renamed file (or folder) in the owner's live shares."""
        changed = 0
        with self.session() as s:
            q = select(ShareRecord).where(ShareRecord.owner == owner, ShareRecord.revoked.is_(None))
            for r in s.scalars(q):
                path = renamed_path(r.path, old, new)
                if path is not None:
                    r.path = path
                    changed += 1
        return changed

    # --- snapshots ----------------------------------------------------------------
    def snapshot_file(self, key: str) -> Path:
        return self.snapshot_dir / f"{key}.ipynb"

    def snapshot_path(self, share_id: str) -> Path:
        """The snapshot file a link shows (shared with the other live links of its file)."""
        share = self.get(share_id)
        return self.snapshot_file(share.snapshot_key if share else share_id)

    def new_part_file(self) -> Path:
        """A fresh temporary file name in the snapshot folder (same file system: atomic rename)."""
        return self.snapshot_dir / f".upload.{secrets.token_hex(8)}.part"

    def commit_snapshot(
        self,
        owner: str,
        path: str,
        part: Path,
        size: int,
        quota: int | None = None,
        folder_files: FolderFiles | None = None,
    ) -> dict[str, int]:
        """A new version of ``owner``'s ``path`` for all its live links: {share id: version}.

        Empty when no link of that file lives (the part file is removed);
        :class:`LimitReached` when it would pass ``quota`` (the part file stays
        the caller's, the old version stays in place).
        """
        with self.session() as s:
            live = self._live(s, owner, self.clock(), for_update=True)
            group = [r for r in live if r.path == path]
            if not group:
                part.unlink(missing_ok=True)
                return {}
            key = group[0].key
            old_keys = {r.key for r in group} - {key}
            self._replace_snapshot(s, live, group, key, (part, size), quota)
            if folder_files is not None:
                self._set_folder(s, key, folder_files)
            versions = {r.id: r.version for r in group}
        self._drop_unused(old_keys)  # links merged by a rename: one file again
        return versions

    def _live(self, s: Session, owner: str, now: datetime, for_update: bool = False) -> Records:
        q = (
            select(ShareRecord)
            .where(
                ShareRecord.owner == owner, ShareRecord.revoked.is_(None), ShareRecord.expires > now
            )
            .order_by(ShareRecord.created)
        )
        return list(s.scalars(q.with_for_update() if for_update else q))

    def _replace_snapshot(
        self,
        s: Session,
        live: Records,
        group: Records,
        key: str,
        snapshot: tuple[Path, int],
        quota: int | None,
    ) -> None:
        """Check the quota, move the part file into place, and count a new version for ``group``."""
        part, size = snapshot
        if quota is not None:
            keys = {r.key for r in group}
            others = {r.key: r.snapshot_size for r in live if r.has_snapshot and r.key not in keys}
            if sum(others.values()) + size > quota:
                used = sum({r.key: r.snapshot_size for r in live if r.has_snapshot}.values())
                raise LimitReached("snapshot bytes", quota, used)
        for r in group:
            r.version += 1
            r.snapshot_size = size
            r.has_snapshot = True
            r.snapshot_key = key
        s.flush()  # a database error comes before the file moves
        os.replace(part, self.snapshot_file(key))

    def _drop_unused(self, keys: set[str]) -> None:
        """Remove the snapshot files of ``keys`` that no live link shows any more."""
        if not keys:
            return
        with self.session() as s:
            q = select(ShareRecord.snapshot_key, ShareRecord.id).where(
                ShareRecord.revoked.is_(None), ShareRecord.expires > self.clock()
            )
            used = {key or share_id for key, share_id in s.execute(q)}
        with self.session() as s:  # a folder's file list goes with its snapshot
            s.execute(delete(FolderRecord).where(FolderRecord.snapshot_key.in_(keys - used)))
        for key in keys - used:
            self.snapshot_file(key).unlink(missing_ok=True)

    def purge_dead(
        self, keep: timedelta = timedelta(days=30), stale_parts: float = 24 * 3600
    ) -> int:
        """Drop snapshots no live link shows, records dead for longer than ``keep``, and
        part files of uploads that ended without cleaning up (older than ``stale_parts`` s)."""
        now = self.clock()
        dropped = 0
        with self.session() as s:
            for r in s.scalars(select(ShareRecord)):
                if r.is_live(now):
                    continue
                end = r.revoked or r.expires
                if end < now - keep:
                    s.delete(r)
                    # Its audience and who used it go with it.
                    for table in (AudienceRecord, AccessRecord):
                        s.execute(delete(table).where(table.share_id == r.id))
                    dropped += 1
            live_keys = {r.key for r in s.scalars(select(ShareRecord)) if r.is_live(now)}
            s.execute(delete(FolderRecord).where(FolderRecord.snapshot_key.not_in(live_keys)))
        for f in self.snapshot_dir.iterdir():
            try:
                unused = f.suffix == ".ipynb" and f.stem not in live_keys
                stale = (
                    f.name.startswith(".upload.") and f.stat().st_mtime < time.time() - stale_parts
                )
                if unused or stale:
                    f.unlink()
            except FileNotFoundError:  # an upload finished or cleaned up meanwhile
                pass
        return dropped
