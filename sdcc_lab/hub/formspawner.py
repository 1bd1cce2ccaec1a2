"""The form spawner: the framework class of the portal.

A site derives a class with one method, :meth:`FormSpawner.select_spawner_class`,
which takes the *validated* options and returns the spawner class to use.
Everything else is done here:

1. **form** — rendered from what the logged-in user may use
   (:class:`~sdcc_lab.hub.discovery.SlurmDiscovery`), with their last valid
   choice (or a share link's options) pre-selected;
2. **shape** — the posted form becomes a dict (``options_from_form``);
3. **validate** — form posts, REST ``user_options`` and reused options all go
   through :func:`~sdcc_lab.hub.options.validate_options` before anything is
   submitted (``apply_user_options``);
4. **delegate** — a child spawner of the selected class gets the validated
   options and does start, poll, stop and progress. Its class and state are
   kept in this spawner's state, so a restarted hub reconnects to it.

Nothing is shared between users' spawners but the discovery caches.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jupyterhub.spawner import Spawner
from traitlets import Bool, Dict, Instance, Integer, List, Unicode, default

from .discovery import SlurmDiscovery, unix_groups
from .entitlements import Entitlements, htcondor_entitlement
from .errors import SessionRefused
from .options import OPTION_KEYS, OptionsError, validate_options

TEMPLATES = Path(__file__).parent / "templates"
_JINJA_ENVIRONMENTS: dict[tuple[str, ...], jinja2.Environment] = {}

# Traits a child spawner takes over from its parent (what JupyterHub gives a spawner).
INHERITED_TRAITS = (
    "user",
    "orm_spawner",
    "hub",
    "authenticator",
    "config",
    "proxy_spec",
    "oauth_client_id",
    "cookie_options",
    "cookie_host_prefix_enabled",
    "trusted_alt_names",
    "public_url",
    "public_hub_url",
    "internal_ssl",
    "internal_trust_bundles",
    "internal_certs_location",
)
# Fields of JupyterHub's own spawn page, not options.
HUB_FORM_FIELDS = ("_xsrf",)
# Set by JupyterHub on the spawner just before start.
PER_START_TRAITS = ("api_token", "admin_access", "cert_paths")


class PrefillNotice(Exception):
    """Not an error: options from a link were put in the form for the user to check."""


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>" can end it early."""
    return (
        json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _import_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class FormSpawner(Spawner):
    """Offer each user what they may use, validate it, and delegate to a child spawner."""

    environments = Dict(
        {"default": {"description": "The site's default software environment", "setup": ""}},
        help="""Named software environments (or containers) users choose from.

        Each value has a ``description`` shown in the form and ``setup``: shell lines,
        written by the admin, that a batch job runs before the server starts::

            c.FormSpawner.environments = {
                "default": {"description": "Python 3.11 (site)", "setup": ""},
                "root-6.30": {"description": "ROOT 6.30 container",
                              "setup": "module load apptainer"},
            }

        The first one is the default.""",
    ).tag(config=True)

    allow_local = Bool(
        True, help="Offer “Run locally” on the hub's node as an alternative to batch jobs."
    ).tag(config=True)

    htcondor_partition = Unicode(
        "",
        help="""If set, the form offers HTCondor under this pseudo-partition name
        (e.g. "htcondor"); choosing it starts an HTCondor session.""",
    ).tag(config=True)

    htcondor_max_runtime = Integer(
        480,
        min=1,
        help="""Longest HTCondor session, in minutes (HTCondor has no partition limits the
        portal could read). Longer requests are refused; the job gets
        ``allowed_job_duration`` from the runtime::

            c.SDCCSpawner.htcondor_max_runtime = 720
        """,
    ).tag(config=True)

    htcondor_gpu_grants = Dict(
        key_trait=Unicode(),
        value_trait=Integer(min=0),
        help="""GPUs a user may request in an HTCondor session, per unix group of the user
        (``"*"``: everyone); a user gets the largest grant of their groups. Empty (the
        default): no GPUs in HTCondor sessions::

            c.SDCCSpawner.htcondor_gpu_grants = {"gpu-users": 4, "*": 0}
        """,
    ).tag(config=True)

    batch_disabled_reason = Unicode(
        "",
        help="""If set, no batch session is offered and the form shows this text instead
        (e.g. during scheduler maintenance). Slurm is not asked.""",
    ).tag(config=True)

    template_paths = List(
        Unicode(),
        help="""Folders searched first for ``sdcc_spawn_form.html``, so a site can restyle the form.""",
    ).tag(config=True)

    discovery = Instance(SlurmDiscovery)

    @default("discovery")
    def _default_discovery(self) -> SlurmDiscovery:
        return SlurmDiscovery(parent=self)

    child_spawner: Spawner | None = None
    _prefill: dict[str, Any] | None = None

    # --- the one method a site writes -----------------------------------------------
    def select_spawner_class(self, options: dict[str, Any]) -> type[Spawner]:
        """Return the spawner class for these validated options. Sites override this."""
        raise NotImplementedError("a FormSpawner subclass must define select_spawner_class")

    def allowed_child_classes(self) -> list[type[Spawner]]:
        """Classes a saved state may name (checked when a restarted hub reloads it)."""
        return []

    # --- discovery and validation -------------------------------------------------------
    async def user_entitlements(self) -> Entitlements:
        if self.batch_disabled_reason:
            entitlements = Entitlements(user=self.user.name, notice=self.batch_disabled_reason)
        else:
            entitlements = await self.discovery.entitlements(self.user.name)
        if self.htcondor_partition:
            entitlements = dataclasses.replace(
                entitlements,
                htcondor=htcondor_entitlement(
                    self.htcondor_partition,
                    max_minutes=self.htcondor_max_runtime,
                    gpu_grants=self.htcondor_gpu_grants,
                    user_groups=unix_groups(self.user.name),
                ),
            )
        return entitlements

    def environment_names(self) -> list[str]:
        return list(self.environments)

    async def validate(self, options: Mapping[str, Any]) -> dict[str, Any]:
        entitlements = await self.user_entitlements()
        return validate_options(
            options,
            entitlements,
            environments=self.environment_names(),
            allow_local=self.allow_local,
        )

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        async def apply(spawner: FormSpawner, user_options: dict[str, Any]) -> None:
            try:
                spawner.user_options = await spawner.validate(user_options or {})
            except OptionsError as e:
                raise SessionRefused(str(e), reason="options") from e

        return apply

    # --- the form -------------------------------------------------------------------------
    def shape_form(self, formdata: Mapping[str, list[str]]) -> dict[str, Any]:
        """Posted form fields → options dict (types only; validation comes after)."""
        options: dict[str, Any] = {}
        for key, values in formdata.items():
            if key in HUB_FORM_FIELDS:
                continue
            if key not in OPTION_KEYS:
                raise OptionsError(key[:40], "is not an option of this portal")
            if len(values) != 1:
                raise OptionsError(key, "was sent more than once")
            options[key] = values[0]
        if "local" in options:
            options["local"] = options["local"] in ("true", "on", "1")
        if options.get("local"):
            options = {k: v for k, v in options.items() if k in ("local", "environment")}
        elif options.get("gpu", "none") == "none":
            options.pop("gpus", None)
        for key in ("runtime", "gpus"):
            value = options.get(key)
            if isinstance(value, str):
                if value.strip() == "":
                    options.pop(key)
                elif value.strip().isdigit():
                    options[key] = int(value.strip())
                else:
                    raise OptionsError(key, "must be a whole number")
        return options

    async def options_from_form(self, formdata: Mapping[str, list[str]]) -> dict[str, Any]:
        try:
            return await self.validate(self.shape_form(formdata))
        except OptionsError as e:
            self._prefill = dict(self.shape_form_loosely(formdata))
            raise SessionRefused(str(e), reason="options") from e

    def shape_form_loosely(self, formdata: Mapping[str, Any]) -> dict[str, Any]:
        """What the user had chosen, to put back into the form after an error."""
        chosen = {
            k: (v[0] if isinstance(v, list) and v else v)
            for k, v in formdata.items()
            if k in OPTION_KEYS
        }
        if "local" in chosen:
            chosen["local"] = chosen["local"] in (True, "true", "on", "1")
        return chosen

    async def options_from_query(self, query_data: Mapping[str, list[str]]) -> dict[str, Any]:
        # A link (e.g. a share link's "start a matching session") never starts a job
        # by itself: its options are put in the form for the user to check.
        self._prefill = self.shape_form_loosely(query_data)
        raise PrefillNotice(
            "The options of your link are filled in below. Check them and press Start."
        )

    @default("options_form")
    def _default_options_form(self) -> Any:
        async def render(spawner: FormSpawner) -> str:
            return await spawner.render_form()

        return render

    def _jinja(self) -> jinja2.Environment:
        # One environment per template path list: templates compile once per hub.
        key = tuple(self.template_paths)
        env = _JINJA_ENVIRONMENTS.get(key)
        if env is None:
            loader = jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(list(key)), jinja2.FileSystemLoader(str(TEMPLATES))]
            )
            env = _JINJA_ENVIRONMENTS[key] = jinja2.Environment(loader=loader, autoescape=True)
        return env

    async def preselected(self, entitlements: Entitlements) -> dict[str, Any]:
        """The link's options, else the last options that are still valid, else none."""
        if self._prefill is not None:
            prefill, self._prefill = self._prefill, None
            return prefill
        last = dict(self.orm_spawner.user_options or {}) if self.orm_spawner else {}
        if not last:
            return {}
        try:
            return validate_options(
                last,
                entitlements,
                environments=self.environment_names(),
                allow_local=self.allow_local,
            )
        except OptionsError:
            return {}

    async def render_form(self) -> str:
        entitlements = await self.user_entitlements()
        chosen = await self.preselected(entitlements)
        data = entitlements.to_json()
        if self.htcondor_partition:
            data["htcondor_partition"] = self.htcondor_partition
        template = self._jinja().get_template("sdcc_spawn_form.html")
        return template.render(
            entitlements=entitlements,
            data_json=script_json(data),
            chosen=chosen,
            chosen_json=script_json(chosen),
            environments=self.environments,
            allow_local=self.allow_local,
            htcondor_partition=self.htcondor_partition,
        )

    # --- delegation -------------------------------------------------------------------------
    def _make_child(self, cls: type[Spawner]) -> Spawner:
        kwargs = {name: getattr(self, name) for name in INHERITED_TRAITS if self.has_trait(name)}
        kwargs["_deprecated_db_session"] = getattr(self, "_deprecated_db_session", None)
        child = cls(**kwargs)
        return child

    def _configure_child(self, child: Spawner) -> None:
        if hasattr(child, "environment_setup"):
            child.environment_setup = {
                name: str(env.get("setup", "")) for name, env in self.environments.items()
            }

    async def start(self) -> Any:
        # apply_user_options validated already; validate again in case a caller skipped it.
        submitted: dict[str, Any] = dict(self.user_options or {})  # type: ignore[has-type]
        options = await self.validate(submitted)
        self.user_options = options
        cls = self.select_spawner_class(options)
        child = self._make_child(cls)
        child.user_options = dict(options)
        for name in PER_START_TRAITS:
            if self.has_trait(name) and child.has_trait(name):
                setattr(child, name, getattr(self, name))
        self._configure_child(child)
        self.child_spawner = child
        return await child.start()

    async def poll(self) -> int | None:
        if self.child_spawner is None:
            return 0
        return await self.child_spawner.poll()

    async def stop(self, now: bool = False) -> None:
        if self.child_spawner is not None:
            await self.child_spawner.stop(now=now)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        if self.child_spawner is None:
            return
        async for event in self.child_spawner.progress():
            yield event

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.child_spawner is not None:
            state["child_class"] = _class_path(type(self.child_spawner))
            state["child_state"] = self.child_spawner.get_state()
            state["child_options"] = dict(self.child_spawner.user_options or {})
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        path = state.get("child_class")
        if not path:
            return
        allowed = {_class_path(c): c for c in self.allowed_child_classes()}
        cls = allowed.get(path)
        if cls is None:
            self.log.error("%s: saved spawner class %s is not allowed here", self._log_name, path)
            return
        child = self._make_child(cls)
        child.user_options = dict(state.get("child_options") or {})
        self._configure_child(child)
        child.load_state(state.get("child_state") or {})
        self.child_spawner = child

    def clear_state(self) -> None:
        super().clear_state()
        if self.child_spawner is not None:
            self.child_spawner.clear_state()
        self.child_spawner = None
