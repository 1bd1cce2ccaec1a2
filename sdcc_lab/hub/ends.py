"""What happened to the user's last batch session, said at their next visit.

When the hub finds a batch session's job gone (its poll, a restarted hub's
first poll, the home page's poll), the backend asks the scheduler how it
ended (:meth:`~sdcc_lab.hub.batch.BatchSessionSpawner.job_end`: Slurm's
``sacct``, HTCondor's job ad) and :func:`record_job_end` keeps that
:class:`~sdcc_lab.scheduler.ends.JobEnd` with the session's options, one per
user and server name. The store is the presets' (:class:`SessionEnds` uses
:class:`~sdcc_lab.hub.presets.SpawnPresets`' database: ``c.SpawnPresets.db_url``),
so a restarted hub still says it. A session the user stopped from the hub is not
recorded: nothing happened to them that they do not know.

The home page (``templates/jupyterhub/home.html``, with
``c.JupyterHub.template_vars = {"sdcc_session_end": session_end_for}``) and the
spawn form show :func:`end_words` — "Your session on gpu (tier3, 30 min) ended
at 11:28 UTC: it reached its time limit" — with **Start again with the same
options** (a form post of the recorded options to ``/hub/spawn/USER``: validated
like any post, the normal spawn path) and **Choose other options** (the form,
pre-filled; after an out-of-memory end with more memory, within the user's
limit). Starting a session or ``POST /hub/api/sdcc-lab/session-end/dismiss``
removes the message. Every word comes from ``labels.json`` (``ends``).
"""

from __future__ import annotations

import json
import pwd
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from sqlalchemy import String, Text, delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from tornado import web

from ..labels import fill, labels, option_value
from ..scheduler.ends import JobEnd
from ..scheduler.errors import SchedulerError
from .presets import SpawnPresets, presets_of

SESSION_END_PATH = r"/api/sdcc-lab/session-end"
SESSION_END_DISMISS_PATH = r"/api/sdcc-lab/session-end/dismiss"
SETTINGS_KEY = "sdcc_lab_session_ends"
MIB = 1 << 20
GIB = 1 << 30


class _Base(DeclarativeBase):
    pass


class EndRecord(_Base):
    __tablename__ = "sdcc_lab_session_ends"

    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    server_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    scheduler: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[str] = mapped_column(String(64))
    end: Mapped[str] = mapped_column(Text)
    options: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class SessionEnd:
    """One user's last ended session: how it ended and what it was started with."""

    user: str
    server_name: str
    scheduler: str
    job_id: str
    end: JobEnd
    options: dict[str, Any]


class SessionEnds:
    """The ends store: a table in the presets' database (one engine, one setting)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _Base.metadata.create_all(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def record(self, end: SessionEnd) -> None:
        """Keep ``end`` as the user's last (replacing an earlier one of that server)."""
        with self.session() as s:
            s.merge(
                EndRecord(
                    user=end.user,
                    server_name=end.server_name,
                    scheduler=end.scheduler,
                    job_id=end.job_id,
                    end=json.dumps(end.end.to_json()),
                    options=json.dumps(end.options),
                )
            )

    def latest(self, user: str, server_name: str = "") -> SessionEnd | None:
        with self.session() as s:
            row = s.get(EndRecord, (user, server_name))
            if row is None:
                return None
            return SessionEnd(
                user=row.user,
                server_name=row.server_name,
                scheduler=row.scheduler,
                job_id=row.job_id,
                end=JobEnd.from_json(json.loads(row.end)),
                options=dict(json.loads(row.options)),
            )

    def clear(self, user: str, server_name: str = "") -> bool:
        """Forget the user's message; False if there was none."""
        with self.session() as s:
            result = s.execute(
                delete(EndRecord).where(
                    EndRecord.user == user, EndRecord.server_name == server_name
                )
            )
            return bool(getattr(result, "rowcount", 0))


def _hub_settings() -> dict[str, Any] | None:
    """The running hub's tornado settings, for spawners polled before their user has them."""
    try:
        from jupyterhub.app import JupyterHub
    except ImportError:  # pragma: no cover - the hub side always has JupyterHub
        return None
    if not JupyterHub.initialized():
        return None
    settings = JupyterHub.instance().tornado_settings
    return settings if isinstance(settings, dict) else None


def ends_of(settings: Mapping[str, Any] | None) -> SessionEnds | None:
    """The hub's one ends store (beside its presets store); None outside a hub."""
    if isinstance(settings, dict) and isinstance(settings.get(SETTINGS_KEY), SessionEnds):
        return settings[SETTINGS_KEY]  # type: ignore[no-any-return]
    if not isinstance(settings, dict) or settings.get("app") is None:
        settings = _hub_settings()
    if settings is None:
        return None
    store = settings.get(SETTINGS_KEY)
    if isinstance(store, SessionEnds):
        return store
    presets: SpawnPresets | None = presets_of(settings)
    if presets is None:
        return None
    store = settings[SETTINGS_KEY] = SessionEnds(presets.engine)
    return store


def _store_of_user(user: Any) -> SessionEnds | None:
    return ends_of(getattr(user, "settings", None))


async def record_job_end(spawner: Any, detail: str | None) -> SessionEnd | None:
    """Ask the scheduler how ``spawner``'s job ended and keep it for the user's next visit.

    ``detail`` is what the status query said (kept when the scheduler's record
    cannot be had). Never raises: a session that ended must end in the hub too.
    """
    end: JobEnd | None = None
    try:
        end = await spawner.job_end()
    except (SchedulerError, ValueError) as e:  # unparseable output is a ValueError too
        spawner.log.warning("how job %s ended is not known: %s", spawner.job_id, e)
    if end is None:
        end = JobEnd(kind="unknown", state=detail or "gone", ended_at=datetime.now(timezone.utc))
    record = SessionEnd(
        user=spawner.user.name,
        server_name=str(getattr(spawner, "name", "") or ""),
        scheduler=str(spawner.session_scheduler),
        job_id=str(spawner.job_id),
        end=end,
        options=dict(spawner.user_options or {}),
    )
    store = _store_of_user(spawner.user)
    if store is None:
        spawner.log.warning("no store for session ends: %s's end is not kept", record.user)
        return record
    try:
        store.record(record)
    except Exception as e:  # noqa: BLE001 - a database problem must not keep the session alive
        spawner.log.error("could not keep how %s's session ended: %s", record.user, e)
    spawner.log.info(
        "%s's session (job %s) ended: %s (%s)", record.user, record.job_id, end.kind, end.state
    )
    return record


def clear_session_end(user: Any, server_name: str = "") -> None:
    """The user starts a new session: the last one's message has served."""
    store = _store_of_user(user)
    if store is not None:
        try:
            store.clear(user.name, server_name)
        except Exception as e:  # noqa: BLE001 - starting a session matters more
            import logging

            logging.getLogger(__name__).warning("could not clear %s's end: %s", user.name, e)


# --- words -----------------------------------------------------------------------------------


def size_words(size: int) -> str:
    """Bytes as a user reads them: "4 GiB", "4.1 GiB", "512 MiB"."""
    if size >= GIB:
        value = size / GIB
        text = f"{value:.1f}".rstrip("0").rstrip(".")
        return f"{text} GiB"
    return f"{max(1, round(size / MIB))} MiB"


def time_words(when: datetime | None, now: datetime | None = None) -> str:
    """ "11:28 UTC", with the date when it was not today."""
    if when is None:
        return labels()["ends"]["unknownTime"]
    when = when.astimezone(timezone.utc)
    now = now or datetime.now(timezone.utc)
    day = "" if when.date() == now.date() else f"{when:%Y-%m-%d} "
    return f"{day}{when:%H:%M} UTC"


def session_words(scheduler: str, options: Mapping[str, Any]) -> str:
    """ "gpu (tier3, 30 min)": where it ran, then the account and the runtime."""
    where = str(options.get("partition") or "") or labels()["schedulers"].get(scheduler, scheduler)
    details = [
        text
        for text in (
            str(options["account"]) if options.get("account") else None,
            option_value("runtime", options.get("runtime")),
        )
        if text
    ]
    return f"{where} ({', '.join(details)})" if details else where


def _canceller(end: JobEnd, user: str) -> str:
    words = labels()["ends"]["kinds"]
    by = end.cancelled_by
    if by is None:
        return words["cancelled"]
    name = by
    if by.isdigit():
        try:
            name = pwd.getpwuid(int(by)).pw_name
        except KeyError:
            name = by
    return words["cancelledByYou"] if name == user else words["cancelledByAdmin"]


def reason_words(end: JobEnd, user: str, options: Mapping[str, Any]) -> str:
    """Why it ended, in the table's words ("it reached its time limit")."""
    words = labels()["ends"]["kinds"]
    if end.kind == "out_of_memory":
        limit = end.memory_limit_bytes or (
            int(options["memory"]) * MIB if options.get("memory") else None
        )
        text = (
            fill(words["outOfMemory"], size_words(limit)) if limit else words["outOfMemoryNoLimit"]
        )
        if end.peak_memory_bytes:
            return f"{text} " + fill(words["peak"], size_words(end.peak_memory_bytes))
        return f"{text}."
    if end.kind == "cancelled":
        return _canceller(end, user)
    if end.kind == "failed":
        if end.signal:
            return fill(words["failedSignal"], end.signal)
        return fill(words["failed"], end.exit_code if end.exit_code is not None else "?")
    if end.kind == "held":
        return fill(words["held"], end.reason or end.state)
    key = {
        "time_limit": "timeLimit",
        "node_fail": "nodeFail",
        "preempted": "preempted",
        "completed": "completed",
    }.get(end.kind)
    return words[key] if key else fill(words["unknown"], end.state)


def end_message(record: SessionEnd, now: datetime | None = None) -> str:
    """The whole sentence: "Your session on gpu (tier3, 30 min) ended at 11:28 UTC: …"."""
    return fill(
        labels()["ends"]["message"],
        session_words(record.scheduler, record.options),
        time_words(record.end.ended_at, now),
        reason_words(record.end, record.user, record.options),
    )


def form_fields(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The recorded options as the spawn form posts them (what "Start again" sends)."""
    fields: list[tuple[str, str]] = []
    for key, value in options.items():
        if value is None or value is False or value == "":
            continue
        fields.append((key, "true" if value is True else str(value)))
    return fields


def memory_suggestion(end: JobEnd, options: Mapping[str, Any], limit_mib: int | None) -> int | None:
    """More memory (MiB) for a session that ran out: twice the larger of its limit and peak,
    in whole GiB, at most ``limit_mib`` (the user's limit there). None: no more to be had."""
    if end.kind != "out_of_memory":
        return None
    used = max(
        end.memory_limit_bytes or 0,
        end.peak_memory_bytes or 0,
        int(options.get("memory") or 0) * MIB,
    )
    if used <= 0:
        return None
    want = -(-2 * used // GIB) * 1024  # whole GiB, rounded up
    had = -(-used // MIB)
    if limit_mib is not None:
        want = min(want, limit_mib)
    return want if want > had else None


def end_words(record: SessionEnd, now: datetime | None = None) -> dict[str, Any]:
    """What the home page, the form and the API show of ``record``."""
    return {
        "kind": record.end.kind,
        "state": record.end.state,
        "job_id": record.job_id,
        "scheduler": record.scheduler,
        "server_name": record.server_name,
        "ended_at": record.end.ended_at.isoformat() if record.end.ended_at else None,
        "message": end_message(record, now),
        "peak_memory_bytes": record.end.peak_memory_bytes,
        "memory_limit_bytes": record.end.memory_limit_bytes,
        "options": dict(record.options),
        "fields": form_fields(record.options),
    }


def session_end_for(user: Any) -> dict[str, Any] | None:
    """``c.JupyterHub.template_vars["sdcc_session_end"]``: the user's message, for home.html."""
    if user is None or getattr(user, "kind", "user") != "user":
        return None
    store = _store_of_user(user)
    if store is None:
        return None
    try:
        record = store.latest(user.name)
    except Exception:  # noqa: BLE001 - the home page must render without it
        return None
    if record is None:
        return None
    words = labels()["ends"]
    return {
        **end_words(record),
        "words": {k: words[k] for k in ("title", "startAgain", "chooseOther", "dismiss")},
    }


# --- API -------------------------------------------------------------------------------------


class _EndHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    def _user(self, scope: str) -> Any:
        user = self.current_user
        if user is None or getattr(user, "kind", "user") != "user":
            raise web.HTTPError(403, "a user's login or API token is required")
        if not self.has_scope(f"{scope}!user={user.name}"):
            raise web.HTTPError(403, f"this token lacks the {scope} scope for {user.name}")
        return user

    def _store(self) -> SessionEnds:
        store = ends_of(self.settings)
        if store is None:  # pragma: no cover - a hub always has its app in the settings
            raise web.HTTPError(503, "the session ends store is not available")
        return store


class SessionEndHandler(_EndHandler):
    """``GET /hub/api/sdcc-lab/session-end``: how the user's last session ended (or null)."""

    async def get(self) -> None:
        user = self._user("read:servers")
        record = self._store().latest(user.name)
        self.set_header("Cache-Control", "no-store")
        self.finish({"end": end_words(record) if record is not None else None})


class SessionEndDismissHandler(_EndHandler):
    """``POST /hub/api/sdcc-lab/session-end/dismiss``: stop showing the message."""

    async def post(self) -> None:
        user = self._user("servers")
        if self.request.body.strip() not in (b"", b"{}"):
            raise web.HTTPError(400, "this request takes no body (or {})")
        if not self._store().clear(user.name):
            raise web.HTTPError(404, "there is no message about an ended session")
        self.log.info("%s dismissed the message about their last session", user.name)
        self.set_status(204)
        self.finish()


SESSION_END_HANDLERS: list[tuple[str, type[APIHandler]]] = [
    (SESSION_END_PATH, SessionEndHandler),
    (SESSION_END_DISMISS_PATH, SessionEndDismissHandler),
]
