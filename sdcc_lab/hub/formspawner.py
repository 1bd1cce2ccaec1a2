"""The form spawner: the framework class of the portal.

A site decides one thing, which spawner class runs a session, from the
*validated* options (the ``select_spawner_class`` hook). Everything else is
done here:

1. **form** — rendered from what the logged-in user may use
   (:class:`~sdcc_lab.hub.discovery.SlurmDiscovery`), with their last valid
   choice (or a link's options, or a refused post's choices) pre-selected;
2. **shape** — the posted form becomes a dict (the ``options_from_form`` hook,
   by default :meth:`FormSpawner.shape_form`);
3. **validate, once** — options are checked against what the user may use
   where they arrive: a form post in ``options_from_form``, REST
   ``user_options`` in ``apply_user_options``. ``start`` re-uses that result
   and validates only what did not come through either (a site's own hooks);
4. **delegate** — a child spawner of the selected class gets the validated
   options and does start, poll, stop and progress. Its class and state are
   kept in this spawner's state, so a restarted hub reconnects to it.

Every hook is a configurable trait, as JupyterHub's own are: a site sets
``c.FormSpawner.<hook> = function`` in ``jupyterhub_config.py``, or a derived
class gives its default with ``@default("<hook>")``. A derived class that
defines a hook as a plain method would hide the trait (and the site's setting)
and is refused when the class is defined.

Nothing is shared between users' spawners but the discovery caches.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from jupyterhub.spawner import Spawner
from traitlets import (
    Bool,
    Callable,
    Dict,
    Instance,
    Integer,
    List,
    TraitError,
    TraitType,
    Type,
    Unicode,
    default,
    validate,
)

from ..labels import fill, labels, option_label
from ..scheduler.errors import SchedulerError, SchedulerUnavailable
from .discovery import SlurmDiscovery, unix_groups
from .ends import SessionEnd, clear_session_end, end_words, ends_of, memory_suggestion
from .entitlements import Entitlements, htcondor_entitlement
from .errors import SessionRefused
from .estimate import StartEstimate, StartEstimator
from .options import OPTION_KEYS, OptionsError, validate_options
from .presets import presets_of

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
# JupyterHub's query style for options in a link: /hub/spawn/USER?opt-partition=gpu
QUERY_OPTION_PREFIX = "opt-"
LINK_MESSAGE = "The options of your link are filled in below. Check them and press Start."
LINK_REFUSED = (
    "Your link asks for what you may not use: {problems}. The rest of the link is "
    "filled in below. Check it and press Start."
)


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no "</script>" can end it early."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def loosely_chosen(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What a user had chosen (form fields or a link's query), to show in the form again.

    Not validated: the form only pre-selects these (escaped) and validates on Start.
    """
    chosen = {
        k: (v[0] if isinstance(v, list) and v else v) for k, v in fields.items() if k in OPTION_KEYS
    }
    if "local" in chosen:
        chosen["local"] = chosen["local"] in (True, "true", "on", "1")
    return chosen


def link_choices(handler: Any) -> dict[str, Any]:
    """The options a link to the spawn page carries (empty: not a link).

    JupyterHub gives the spawner the handler of the page it renders the form
    for (``Spawner.handler``); only a GET's query is a link. ``opt-`` names win
    over bare ones, as in JupyterHub's own reading of the query.
    """
    request = getattr(handler, "request", None)
    if request is None or request.method != "GET":
        return {}
    query = {
        key: [value.decode("utf-8", "replace") for value in values]
        for key, values in request.query_arguments.items()
    }
    prefixed = {
        key[len(QUERY_OPTION_PREFIX) :]: values
        for key, values in query.items()
        if key.startswith(QUERY_OPTION_PREFIX)
    }
    return loosely_chosen(prefixed or query)


def _no_placement_policy(spawner: FormSpawner, options: dict[str, Any]) -> type[Spawner]:
    raise NotImplementedError(
        f"{type(spawner).__name__} has no select_spawner_class: set "
        f"c.{type(spawner).__name__}.select_spawner_class (see the admin guide)"
    )


class FormSpawner(Spawner):  # type: ignore[misc]  # JupyterHub is untyped
    """Offer each user what they may use, validate it, and delegate to a child spawner."""

    # Hooks: configurable traits, never plain methods in a derived class (see __init_subclass__).
    HOOKS = ("options_form", "options_from_form", "select_spawner_class", "allowed_child_classes")

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
        True,
        help="""Offer “Run locally” (a process on the hub's node) besides batch jobs::

            c.FormSpawner.allow_local = False
        """,
    ).tag(config=True)

    restore_workspace = Bool(
        True,
        help="""Open every session in the portal's named JupyterLab workspace
        (``/lab/workspaces/<workspace_name>``, kept in the user's home), so a new start,
        "Start again" included and whatever its options, reopens the notebooks of the last
        session where they were, with their kernels (sdcc_lab.server.workspace). Applies only
        when ``c.Spawner.default_url`` is JupyterLab's (empty or ``/lab``). Off::

            c.FormSpawner.restore_workspace = False
        """,
    ).tag(config=True)

    workspace_name = Unicode(
        "sdcc-lab",
        help="""Name of the portal's JupyterLab workspace (letters, digits, ``.``, ``_``,
        ``-``; the file is ``~/.jupyter/lab/workspaces/<name>-<hash>.jupyterlab-workspace``)::

            c.FormSpawner.workspace_name = "portal"
        """,
    ).tag(config=True)

    @validate("workspace_name")
    def _valid_workspace_name(self, proposal: Any) -> str:
        name = str(proposal["value"])
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            raise TraitError(f"workspace_name {name!r}: letters, digits, '.', '_', '-' only")
        return name

    htcondor_partition = Unicode(
        "",
        help="""If set, the form offers HTCondor under this pseudo-partition name;
        choosing it starts an HTCondor session. Empty (the default): no HTCondor::

            c.SDCCSpawner.htcondor_partition = "htcondor"
        """,
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
        help="""GPUs (a count) a user may request in an HTCondor session, per unix group of
        the user (``"*"``: everyone); a user gets the largest grant of their groups. Empty
        (the default): no GPUs in HTCondor sessions::

            c.SDCCSpawner.htcondor_gpu_grants = {"gpu-users": 4, "*": 0}
        """,
    ).tag(config=True)

    batch_disabled_reason = Unicode(
        "",
        help="""If set, no batch session is offered and the form shows this text instead
        (e.g. during scheduler maintenance). Slurm is not asked::

            c.FormSpawner.batch_disabled_reason = "Slurm maintenance until 14:00."
        """,
    ).tag(config=True)

    template_paths = List(
        Unicode(),
        help="""Folders searched first for ``sdcc_spawn_form.html``, so a site can restyle
        the form (the portal's own template is the fallback)::

            c.FormSpawner.template_paths = ["/etc/jupyterhub/templates"]
        """,
    ).tag(config=True)

    select_spawner_class = Callable(
        help="""Hook: the spawner class that runs a session, from its validated options.

        Called as ``select_spawner_class(spawner, options)``; ``options`` has every key of
        ``sdcc_lab.hub.options`` set. The class returned must be one of
        ``allowed_child_classes``::

            from sdcc_lab.hub import LocalSessionSpawner, SlurmSessionSpawner

            def select_spawner_class(spawner, options):
                return LocalSessionSpawner if options["local"] else SlurmSessionSpawner

            c.FormSpawner.select_spawner_class = select_spawner_class

        ``SDCCSpawner``'s default: local, HTCondor or Slurm, from its ``*_spawner_class``.
        """,
    ).tag(config=True)

    allowed_child_classes = List(
        Type(klass=Spawner),
        help="""Spawner classes a saved state may name: a restarted hub reconnects only to
        sessions of these classes, and ``select_spawner_class`` may return only these::

            c.FormSpawner.allowed_child_classes = [LocalSessionSpawner, SlurmSessionSpawner]

        ``SDCCSpawner``'s default: its three ``*_spawner_class``.
        """,
    ).tag(config=True)

    discovery = Instance(SlurmDiscovery)

    @default("discovery")
    def _default_discovery(self) -> SlurmDiscovery:
        return SlurmDiscovery(parent=self)

    estimator = Instance(StartEstimator)

    @default("estimator")
    def _default_estimator(self) -> StartEstimator:
        # One per hub: its budget counts every user's test submissions together.
        return StartEstimator.shared(parent=self)

    @default("select_spawner_class")
    def _default_select_spawner_class(self) -> Any:
        return _no_placement_policy

    child_spawner: Spawner | None = None
    # The choices of a refused form post, shown again by the next render (JupyterHub
    # renders the form again right after, and passes the spawner nothing but itself).
    _refused_choices: dict[str, Any] | None = None
    # The options object validated for the spawn under way: JupyterHub hands the same
    # object from options_from_form to apply_user_options to start (see accept_options).
    _accepted: dict[str, Any] | None = None
    # A link's options as validated (options_from_query), pre-selected by the next render.
    _link_choices: dict[str, Any] | None = None

    extensions_used = Integer(
        0, help="Extensions of the running session's time (sdcc_lab.hub.extend); saved state."
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.HOOKS:
            value = cls.__dict__.get(name)
            if inspect.isfunction(value) and not isinstance(value, TraitType):
                raise TypeError(
                    f"{cls.__name__}.{name} is a plain method: it would hide the configurable "
                    f"hook (and c.{cls.__name__}.{name}). Give its default with "
                    f'@default("{name}") instead.'
                )

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
        """The complete options if this user may use them, else :class:`OptionsError`."""
        entitlements = await self.user_entitlements()
        return validate_options(
            options,
            entitlements,
            environments=self.environment_names(),
            allow_local=self.allow_local,
        )

    async def accept_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Validate submitted options for the spawn under way, once.

        The object returned is remembered: when JupyterHub passes that same object on
        (form post → ``apply_user_options`` → ``start``) it is not checked again. Any
        other object — REST options, a site hook's output, options reloaded from the
        database for a later spawn — is validated here. Refusals are :class:`SessionRefused`
        naming the field.
        """
        if self._accepted is not None and options is self._accepted:
            return self._accepted
        try:
            validated = await self.validate(options)
        except OptionsError as e:
            raise SessionRefused(str(e), reason="options") from e
        self.log.info(
            "%s: options accepted: %s", self._log_name, json.dumps(validated, sort_keys=True)
        )
        self._accepted = validated
        return validated

    @default("apply_user_options")
    def _default_apply_user_options(self) -> Any:
        async def apply(spawner: FormSpawner, user_options: dict[str, Any]) -> None:
            spawner.user_options = await spawner.accept_options(user_options or {})

        return apply

    # --- the start estimate ---------------------------------------------------------------
    async def test_submit(self, options: dict[str, Any]) -> str:
        """Run the scheduler's test submission for validated options, as this user.

        The child spawner the options would start builds the command (the real
        submission's arguments); a class without ``test_only`` has no estimate.
        """
        child = self._make_child(self.child_class_for(options))
        child.user_options = dict(options)
        self._configure_child(child)
        test_only = getattr(child, "test_only", None)
        if test_only is None:
            raise SchedulerUnavailable(f"{type(child).__name__} gives no start estimate")
        out: str = await test_only(dict(options))
        return out

    async def free_lookup(self, partition: str) -> dict[str, int] | None:
        """A partition's free resources from the shared node query (None: unknown)."""
        free = (await self.discovery.free_resources()).get(partition)
        return free.as_lookup() if free is not None else None

    async def estimate_validated(self, options: Mapping[str, Any]) -> StartEstimate:
        """The expected start of options already validated for this user."""
        if options.get("local"):
            return StartEstimate(True, None, None, "unavailable")
        if self.htcondor_partition and options.get("partition") == self.htcondor_partition:
            return StartEstimate(
                False, None, "HTCondor gives no start estimate before submission", "unavailable"
            )
        return await self.estimator.estimate(
            self.user.name, options, submit=self.test_submit, free=self.free_lookup
        )

    async def start_estimate(self, options: Mapping[str, Any]) -> StartEstimate:
        """Validate ``options`` like a post (:class:`OptionsError`), then estimate them."""
        return await self.estimate_validated(await self.validate(options))

    async def free_resources_json(self, entitlements: Entitlements) -> list[dict[str, Any]]:
        """Free resources of the partitions this user may use ([] when Slurm cannot say)."""
        if not entitlements.partitions:
            return []
        try:
            free = await self.discovery.free_resources()
        except SchedulerError as e:
            self.log.warning("free resources unavailable: %s", e)
            return []
        return [free[p.name].to_json() for p in entitlements.partitions if p.name in free]

    # --- the form -------------------------------------------------------------------------
    def shape_form(self, formdata: Mapping[str, list[str]]) -> dict[str, Any]:
        """Posted form fields → options dict (types only; validation comes after).

        Site ``options_from_form`` hooks call it for the portal's own fields.
        """
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
        for key in ("runtime", "gpus", "cpus"):
            value = options.get(key)
            if isinstance(value, str):
                if value.strip() == "":
                    options.pop(key)
                elif value.strip().isdigit():
                    options[key] = int(value.strip())
                else:
                    raise OptionsError(key, "must be a whole number")
        return options

    @default("options_from_form")
    def _options_from_form(self) -> Any:
        # JupyterHub calls the trait's value (run_options_from_form): a site's
        # c.FormSpawner.options_from_form replaces this default.
        return self._shape_and_accept

    async def _shape_and_accept(self, formdata: dict[str, list[str]]) -> dict[str, Any]:
        """The default ``options_from_form``: shape the portal's form, validate it once."""
        try:
            return await self.accept_options(self.shape_form(formdata))
        except (OptionsError, SessionRefused) as e:
            self._refused_choices = loosely_chosen(formdata)
            if isinstance(e, OptionsError):
                raise SessionRefused(str(e), reason="options") from e
            raise

    async def check_link(
        self, query: Mapping[str, list[str]]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """A link's options validated exactly like a post, each refused one left out.

        Returns the validated options of what remains and ``(field, why)`` for every
        option the user may not use (or that is not an option): the validation is
        run again without each refused field until the rest passes.
        """
        fields = {k: list(v) for k, v in query.items() if k not in HUB_FORM_FIELDS}
        refused: list[tuple[str, str]] = []
        for _ in range(len(fields) + 1):
            try:
                return await self.validate(self.shape_form(fields)), refused
            except OptionsError as e:
                why = str(e)[len(e.field) + 2 :]
                # shape_form names an unknown key by its first 40 characters.
                key = next((k for k in fields if k == e.field or k[:40] == e.field), None)
                refused.append((e.field, why))
                if key is None:  # nothing of the link to leave out: the defaults fail
                    return {}, refused
                del fields[key]
        return {}, refused  # pragma: no cover - each round removes a field

    async def options_from_query(self, query_data: Mapping[str, list[str]]) -> dict[str, Any]:
        """Refuse to start from a link; the form shows the link's options instead.

        JupyterHub starts a session with whatever this returns, from a plain GET that
        any page can make a browser send; refusing is the only way to decline. The
        form it then renders pre-selects the link's options (:func:`link_choices`),
        and the page is a normal one (200): only the implicit start is refused.
        """
        options, refused = await self.check_link(query_data)
        self._link_choices = options or None
        if refused:
            problems = "; ".join(f"{option_label(field)}: {why}" for field, why in refused)
            self.log.info("%s: a link asked for %s", self._log_name, problems)
            raise SessionRefused(
                LINK_REFUSED.format(problems=problems), reason="link", status_code=200
            )
        raise SessionRefused(LINK_MESSAGE, reason="link", status_code=200)

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
        """A refused post's choices, else a link's options, else the last valid options."""
        if self._refused_choices is not None:
            chosen, self._refused_choices = self._refused_choices, None
            return chosen
        if self._link_choices is not None:
            chosen, self._link_choices = self._link_choices, None
            return chosen
        from_link = link_choices(self.handler)
        if from_link:
            return from_link
        ended = self.last_end()
        if ended is not None:
            # The ended session's options; after running out of memory, with more.
            last = dict(ended.options)
            more = self.more_memory(ended, entitlements)
            if more is not None:
                last["memory"] = more
        else:
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

    def user_presets(self) -> list[dict[str, Any]] | None:
        """The user's saved presets for the form (None: this hub keeps none)."""
        store = presets_of(getattr(self.user, "settings", None))
        if store is None:
            return None
        try:
            return store.list(self.user.name)
        except Exception as e:  # noqa: BLE001 - the form must render without its presets
            self.log.warning("%s: presets unavailable: %s", self._log_name, e)
            return None

    def last_end(self) -> SessionEnd | None:
        """How this user's last batch session ended, until they start another (sdcc_lab.hub.ends)."""
        store = ends_of(getattr(self.user, "settings", None))
        if store is None:
            return None
        try:
            return store.latest(self.user.name, str(self.name or ""))
        except Exception as e:  # noqa: BLE001 - the form must render without it
            self.log.warning("%s: session ends unavailable: %s", self._log_name, e)
            return None

    def more_memory(self, ended: SessionEnd, entitlements: Entitlements) -> int | None:
        """The memory (MiB) to suggest after an out-of-memory end, within the user's limit."""
        options = ended.options
        limit, _ = entitlements.resource_limit(
            str(options.get("partition") or ""), str(options.get("qos") or ""), "memory"
        )
        return memory_suggestion(ended.end, options, limit)

    def end_notice(self, ended: SessionEnd, entitlements: Entitlements) -> dict[str, Any]:
        """The form's words about the last session: the message, and what memory it now asks."""
        notice = end_words(ended)
        if ended.end.kind != "out_of_memory":
            return notice
        words = labels()["ends"]
        options = ended.options
        partition = str(options.get("partition") or "")
        limit, _ = entitlements.resource_limit(partition, str(options.get("qos") or ""), "memory")
        more = self.more_memory(ended, entitlements)
        had = (
            ended.end.memory_limit_bytes
            or int(options.get("memory") or 0) * (1 << 20)
            or ended.end.peak_memory_bytes
            or 0
        )
        if more is not None:
            had_words = f"{-(-had // (1 << 20))} MiB"
            notice["memory_note"] = (
                fill(words["moreMemory"], more, had_words, limit)
                if limit is not None
                else fill(words["moreMemoryNoLimit"], more, had_words)
            )
            notice["suggested_memory"] = more
        elif limit is not None:
            notice["memory_note"] = fill(words["noMoreMemory"], partition)
        return notice

    async def render_form(self) -> str:
        """The form's HTML (the default ``options_form``); a site's hook may wrap it."""
        entitlements = await self.user_entitlements()
        chosen = await self.preselected(entitlements)
        ended = self.last_end()
        session_end = self.end_notice(ended, entitlements) if ended is not None else None
        data = entitlements.to_json()
        if self.htcondor_partition:
            data["htcondor_partition"] = self.htcondor_partition
        free = await self.free_resources_json(entitlements)
        estimate: StartEstimate | None = None
        if entitlements.batch_available:
            try:
                estimate = await self.start_estimate(
                    {k: v for k, v in chosen.items() if k in OPTION_KEYS}
                )
            except OptionsError:
                estimate = None  # a link's or a refused post's choice: the form says why
        presets = self.user_presets()
        template = self._jinja().get_template("sdcc_spawn_form.html")
        return template.render(
            session_end=session_end,
            session_end_fields_json=script_json(session_end["fields"] if session_end else []),
            end_labels=labels()["ends"],
            spawn_url=self.spawn_url(),
            dismiss_url=f"{self.hub_base_url()}api/sdcc-lab/session-end/dismiss",
            presets=presets,
            presets_json=script_json(presets),
            free=free,
            estimate=estimate.to_json() if estimate is not None else None,
            estimate_json=script_json(estimate.to_json() if estimate is not None else None),
            # the fields' labels name their unit: "Runtime (min)" (labels.json "field")
            option_labels={e["key"]: e.get("field") or e["label"] for e in labels()["options"]},
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
        # The start URL is where the workspace comes back: the hub's redirect after a spawn
        # goes to the server, which goes to its default URL; JupyterLab loads the named
        # workspace there and writes each change of the layout back into it. This works
        # before any of the frontend loads and for every way in (form, "Start again", REST).
        if self.restore_workspace and str(child.default_url or "").rstrip("/") in ("", "/lab"):
            child.default_url = f"/lab/workspaces/{self.workspace_name}"
        if hasattr(child, "environment_setup"):
            child.environment_setup = {
                name: str(env.get("setup", "")) for name, env in self.environments.items()
            }

    def child_class_for(self, options: dict[str, Any]) -> type[Spawner]:
        """The site's choice of class, checked against ``allowed_child_classes``."""
        cls = self.select_spawner_class(self, options)
        if cls not in self.allowed_child_classes:
            # A class the state cannot name again would leave its job orphaned at restart.
            raise ValueError(
                f"select_spawner_class returned {_class_path(cls)}, which is not in "
                f"c.{type(self).__name__}.allowed_child_classes"
            )
        return cls  # type: ignore[no-any-return]

    def hub_base_url(self) -> str:
        """The hub's own prefix ("/hub/")."""
        return str(getattr(getattr(self, "hub", None), "base_url", None) or "/hub/")

    def spawn_url(self) -> str:
        """This server's spawn page (where the form, and "Start again", post)."""
        name = f"/{self.name}" if self.name else ""
        user = getattr(self.user, "escaped_name", None) or quote(self.user.name, safe="")
        return f"{self.hub_base_url()}spawn/{user}{name}"

    async def start(self) -> Any:
        # Validated where the options arrived, unless a site hook replaced them since.
        options = await self.accept_options(self.user_options)  # type: ignore[has-type]
        # A new session: the message about the last one has served (sdcc_lab.hub.ends).
        clear_session_end(self.user, str(self.name or ""))
        self._accepted = None  # a later spawn with these options reloaded checks them again
        self.user_options = options
        child = self._make_child(self.child_class_for(options))
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
        status: int | None = await self.child_spawner.poll()
        return status

    async def stop(self, now: bool = False) -> None:
        if self.child_spawner is not None:
            await self.child_spawner.stop(now=now)

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        if self.child_spawner is None:
            return
        async for event in self.child_spawner.progress():
            yield event

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        if self.child_spawner is not None:
            state["child_class"] = _class_path(type(self.child_spawner))
            state["child_state"] = self.child_spawner.get_state()
            state["child_options"] = dict(self.child_spawner.user_options or {})
            if self.extensions_used:
                state["extensions_used"] = self.extensions_used
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.extensions_used = int(state.get("extensions_used", 0) or 0)
        path = state.get("child_class")
        if not path:
            return
        allowed = {_class_path(c): c for c in self.allowed_child_classes}
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
        self.extensions_used = 0
        if self.child_spawner is not None:
            self.child_spawner.clear_state()
        self.child_spawner = None
