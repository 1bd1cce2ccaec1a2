"""Named spawn presets, per user, kept on the hub (``/hub/api/sdcc-lab/presets``).

A preset is a name and the options of the spawn form. It lives in a small
SQLAlchemy table (:class:`SpawnPresets`: SQLite beside the hub's database by
default), so it follows the user to any browser. Every preset is validated
when it is saved, by the same code as a form post
(:meth:`~sdcc_lab.hub.formspawner.FormSpawner.validate`): a preset the user
may not use is refused with the form's message (403 for a partition, account or QOS
that is not theirs, 400 for any other value, as the start estimate answers). Starting a session from a
preset is an ordinary form post or ``user_options``, validated again then
(what a user may use can change between the two).

Only the user's own presets are reachable: the path names no user, the
handlers act for the authenticated user alone and need that user's
``servers`` scope (``read:servers`` to list), which the user's own cookie and
tokens have and a server's token does not. JupyterHub checks the XSRF token
of cookie requests that change state.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from sqlalchemy import String, Text, create_engine, delete, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from tornado import web
from traitlets import Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from ..jsonbody import json_object
from ..names import visible_text
from .options import OptionsError

PRESETS_PATH = r"/api/sdcc-lab/presets"
PRESET_PATH = r"/api/sdcc-lab/presets/([^/]+)"
SETTINGS_KEY = "sdcc_lab_presets"
STORE_FILE = "sdcc_lab_presets.sqlite"


class _Base(DeclarativeBase):
    pass


class PresetRecord(_Base):
    __tablename__ = "sdcc_lab_spawn_presets"

    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    options: Mapped[str] = mapped_column(Text)


class PresetError(ValueError):
    """A preset cannot be saved; ``status`` is the HTTP answer (400, 409)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def default_store_url(hub_db_url: str) -> str:
    """Beside the hub's SQLite file; in the hub's own database otherwise (a table of ours)."""
    try:
        url = make_url(hub_db_url)
    except Exception:  # noqa: BLE001 - an odd URL: keep the store in the working folder
        return f"sqlite:///{STORE_FILE}"
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return "sqlite://"
        return f"sqlite:///{Path(database).parent / STORE_FILE}"
    return hub_db_url


class SpawnPresets(LoggingConfigurable):
    """The presets store (``c.SpawnPresets.…``); one per hub, made on first use."""

    hub_db_url = Unicode("sqlite:///jupyterhub.sqlite", help="The hub's own database URL.")

    db_url = Unicode(
        help="""SQLAlchemy URL of the users' spawn presets.

        Default: ``sdcc_lab_presets.sqlite`` beside the hub's SQLite database, or the
        hub's own database (table ``sdcc_lab_spawn_presets``) when that is not SQLite.
        Hubs that share users should share it::

            c.SpawnPresets.db_url = "postgresql://hub:secret@db.example.org/presets"
        """,
    ).tag(config=True)

    @default("db_url")
    def _default_db_url(self) -> str:
        return default_store_url(self.hub_db_url)

    max_presets = Integer(
        20,
        min=1,
        help="""The most presets one user may keep; saving one more (a new name) is refused
        with 409 until they delete one::

            c.SpawnPresets.max_presets = 50
        """,
    ).tag(config=True)

    max_name_length = Integer(
        64,
        min=1,
        max=255,
        help="""The longest preset name, in characters (at most 255)::

            c.SpawnPresets.max_name_length = 40
        """,
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine: Engine = create_engine(self.db_url, future=True)
        _Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    def check_name(self, name: str) -> str:
        """``name`` if it can name a preset, else :class:`PresetError` saying why."""
        if not name or not name.strip():
            raise PresetError("a preset needs a name")
        if visible_text(name) != name or name != name.strip() or "/" in name:
            raise PresetError(
                "a preset name is visible text without '/', control characters or "
                "spaces at either end"
            )
        if len(name) > self.max_name_length:
            raise PresetError(f"a preset name has at most {self.max_name_length} characters")
        return name

    def list(self, user: str) -> list[dict[str, Any]]:
        """The user's presets, by name: ``[{"name", "options"}]``."""
        with self.session() as s:
            rows = s.scalars(
                select(PresetRecord).where(PresetRecord.user == user).order_by(PresetRecord.name)
            ).all()
            return [{"name": r.name, "options": json.loads(r.options)} for r in rows]

    def save(self, user: str, name: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace one preset (``options`` validated by the caller)."""
        self.check_name(name)
        with self.session() as s:
            record = s.get(PresetRecord, (user, name))
            if record is None:
                count = s.scalar(
                    select(func.count()).select_from(PresetRecord).where(PresetRecord.user == user)
                )
                if (count or 0) >= self.max_presets:
                    raise PresetError(
                        f"you have {count} presets, the most allowed: delete one first", 409
                    )
                s.add(PresetRecord(user=user, name=name, options=json.dumps(dict(options))))
            else:
                record.options = json.dumps(dict(options))
        return {"name": name, "options": dict(options)}

    def delete(self, user: str, name: str) -> bool:
        """Remove one preset; False if the user had none of that name."""
        with self.session() as s:
            result = s.execute(
                delete(PresetRecord).where(PresetRecord.user == user, PresetRecord.name == name)
            )
            return bool(getattr(result, "rowcount", 0))


def presets_of(settings: Mapping[str, Any] | None) -> SpawnPresets | None:
    """The hub's one store, from the hub's tornado ``settings`` (None outside a hub)."""
    if not isinstance(settings, dict):
        return None
    store = settings.get(SETTINGS_KEY)
    if store is None:
        app = settings.get("app")
        if app is None:
            return None
        store = settings[SETTINGS_KEY] = SpawnPresets(
            parent=app, hub_db_url=str(getattr(app, "db_url", "") or "")
        )
    return store if isinstance(store, SpawnPresets) else None


class _PresetsHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    """What both preset handlers need: the user (with the scope) and the store."""

    def _user(self, scope: str) -> Any:
        user = self.current_user
        if user is None or getattr(user, "kind", "user") != "user":
            raise web.HTTPError(403, "a user's login or API token is required")
        if not self.has_scope(f"{scope}!user={user.name}"):
            raise web.HTTPError(403, f"this token lacks the {scope} scope for {user.name}")
        return user

    def _store(self) -> SpawnPresets:
        store = presets_of(self.settings)
        if store is None:  # pragma: no cover - a hub always has its app in the settings
            raise web.HTTPError(503, "the presets store is not available")
        return store


class PresetsHandler(_PresetsHandler):
    """``GET /hub/api/sdcc-lab/presets``: the user's own presets."""

    async def get(self) -> None:
        user = self._user("read:servers")
        self.set_header("Cache-Control", "no-store")
        self.finish({"presets": self._store().list(user.name)})


class PresetHandler(_PresetsHandler):
    """``PUT``/``DELETE /hub/api/sdcc-lab/presets/{name}``."""

    def _name(self, name: str) -> str:
        # Tornado has percent-decoded the path argument already.
        try:
            return self._store().check_name(name)
        except PresetError as e:
            raise web.HTTPError(400, str(e)) from None

    async def put(self, raw_name: str) -> None:
        user = self._user("servers")
        name = self._name(raw_name)
        body = json_object(self.request.body)
        if set(body) != {"options"} or not isinstance(body["options"], dict):
            raise web.HTTPError(400, 'only {"options": {…}} is accepted')
        spawner = user.spawner
        validate = getattr(spawner, "validate", None)
        if validate is None:
            raise web.HTTPError(404, "presets need the sdcc_lab form spawner")
        try:
            options = await validate(body["options"])
        except OptionsError as e:
            from .estimateapi import FORBIDDEN_FIELDS  # estimateapi imports the form spawner

            # The form's own message for the same choice; 403 for what is not the user's,
            # as the estimate answers.
            raise web.HTTPError(403 if e.field in FORBIDDEN_FIELDS else 400, str(e)) from None
        try:
            preset = self._store().save(user.name, name, options)
        except PresetError as e:
            raise web.HTTPError(e.status, str(e)) from None
        self.log.info("%s saved spawn preset %r", user.name, name)
        self.finish(preset)

    async def delete(self, raw_name: str) -> None:
        user = self._user("servers")
        name = self._name(raw_name)
        if not self._store().delete(user.name, name):
            raise web.HTTPError(404, f"you have no preset named {name!r}")
        self.log.info("%s deleted spawn preset %r", user.name, name)
        self.set_status(204)
        self.finish()
