"""The share store: one SQL row per share, one snapshot file per share.

Records live in any SQLAlchemy database (SQLite under the hub's data folder by
default; PostgreSQL when several hubs share one store). Snapshots (the last
saved version of the shared notebook) are files in ``snapshot_dir``, written
to a temporary file and renamed into place, so a reader sees either the old
version or the new one, never half of one. Several hubs sharing one database
must share that folder too.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text, create_engine, select, update
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

    def is_live(self, now: datetime | None = None) -> bool:
        return self.revoked is None and self.expires > (now or utcnow())

    def env(self) -> dict[str, Any]:
        value = json.loads(self.environment or "{}")
        return value if isinstance(value, dict) else {}


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

    @classmethod
    def of(cls, r: ShareRecord) -> ShareInfo:
        return cls(r.id, r.owner, r.path, r.env(), r.created, r.expires, r.revoked, r.opens,
                   r.last_opened, r.version, r.snapshot_size)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def is_live(self, now: datetime | None = None) -> bool:
        return self.revoked is None and self.expires > (now or utcnow())


class ShareStore:
    def __init__(self, db_url: str, snapshot_dir: str | Path) -> None:
        self.engine: Engine = create_engine(db_url, future=True)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.snapshot_dir = Path(snapshot_dir)
        self.snapshot_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # --- records ----------------------------------------------------------------
    def create(self, owner: str, path: str, environment: dict[str, Any], lifetime: timedelta) -> ShareInfo:
        now = utcnow()
        record = ShareRecord(
            id=secrets.token_hex(8), owner=owner, path=path,
            environment=json.dumps(environment, sort_keys=True), created=now,
            expires=now + lifetime, revoked=None, opens=0, last_opened=None, version=0,
            snapshot_size=0, has_snapshot=False,
        )
        with self.session() as s:
            s.add(record)
        return ShareInfo.of(record)

    def get(self, share_id: str) -> ShareInfo | None:
        with self.session() as s:
            r = s.get(ShareRecord, share_id)
            return ShareInfo.of(r) if r else None

    def list(self, owner: str | None = None, live_only: bool = True) -> list[ShareInfo]:
        now = utcnow()
        with self.session() as s:
            q = select(ShareRecord).order_by(ShareRecord.created.desc())
            if owner is not None:
                q = q.where(ShareRecord.owner == owner)
            if live_only:
                q = q.where(ShareRecord.revoked.is_(None), ShareRecord.expires > now)
            return [ShareInfo.of(r) for r in s.scalars(q)]

    def count_live(self, owner: str) -> int:
        return len(self.list(owner))

    def revoke(self, share_id: str) -> bool:
        with self.session() as s:
            r = s.get(ShareRecord, share_id)
            if r is None:
                return False
            if r.revoked is None:
                r.revoked = utcnow()
        self._remove_snapshot(share_id)
        return True

    def record_open(self, share_id: str) -> None:
        # One UPDATE, counted by the database: no lost opens when several hubs share it.
        with self.session() as s:
            s.execute(
                update(ShareRecord)
                .where(ShareRecord.id == share_id)
                .values(opens=ShareRecord.opens + 1, last_opened=utcnow())
            )

    def rename(self, owner: str, old: str, new: str) -> int:
        """Follow a renamed file (or folder) in the owner's live shares."""
        changed = 0
        with self.session() as s:
            q = select(ShareRecord).where(ShareRecord.owner == owner, ShareRecord.revoked.is_(None))
            for r in s.scalars(q):
                if r.path == old:
                    r.path = new
                elif r.path.startswith(old.rstrip("/") + "/"):
                    r.path = new.rstrip("/") + r.path[len(old.rstrip("/")):]
                else:
                    continue
                changed += 1
        return changed

    # --- snapshots ----------------------------------------------------------------
    def snapshot_path(self, share_id: str) -> Path:
        return self.snapshot_dir / f"{share_id}.ipynb"

    def new_part_file(self) -> Path:
        """A fresh temporary file name in the snapshot folder (same file system: atomic rename)."""
        return self.snapshot_dir / f".upload.{secrets.token_hex(8)}.part"

    def commit_snapshot(self, share_id: str, part: Path, size: int) -> int | None:
        """Move a fully written part file into place; the new version number, or None."""
        with self.session() as s:
            r = s.get(ShareRecord, share_id, with_for_update=True)
            if r is None or not r.is_live():
                part.unlink(missing_ok=True)
                return None
            os.replace(part, self.snapshot_path(share_id))
            r.version += 1
            r.snapshot_size = size
            r.has_snapshot = True
            return r.version

    def _remove_snapshot(self, share_id: str) -> None:
        self.snapshot_path(share_id).unlink(missing_ok=True)

    def purge_dead(self, keep: timedelta = timedelta(days=30)) -> int:
        """Drop snapshots of dead shares, and records dead for longer than ``keep``."""
        now = utcnow()
        dropped = 0
        with self.session() as s:
            for r in s.scalars(select(ShareRecord)):
                if r.is_live(now):
                    continue
                self._remove_snapshot(r.id)
                end = r.revoked or r.expires
                if end < now - keep:
                    s.delete(r)
                    dropped += 1
        return dropped
