"""Discover what each user may use on a Slurm cluster, cheaply.

Three scheduler commands serve every user's form for a whole cache period
(``cache_ttl``): one association query for the whole cluster (or one per user
where the hub may not read all associations), ``scontrol show partition -o``
and one QOS query. Concurrent logins wait on the query in flight instead of
starting their own, and nothing blocks the hub's event loop.
"""

from __future__ import annotations

import grp
import os
import pwd
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from traitlets import Bool, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..scheduler.cache import TTLCache
from ..scheduler.commands import run_command
from ..scheduler.errors import SchedulerError
from ..scheduler.slurm import parse_associations, parse_partitions, parse_qos
from ..scheduler.slurm.nodes import FreeResources, Node, free_per_partition, parse_nodes
from .entitlements import Entitlements, build_entitlements

T = TypeVar("T")

ASSOC_FIELDS = ("user", "defaultaccount", "account", "partition", "qos", "defaultqos", "maxwall")
QOS_FIELDS = ("name", "maxwall", "flags", "maxtres")


def unix_groups(username: str) -> list[str] | None:
    """The user's groups on the hub's node, or None for a user without an account here."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return None
    return [grp.getgrgid(g).gr_name for g in os.getgrouplist(username, entry.pw_gid)]


class SlurmDiscovery(LoggingConfigurable):
    """Reads associations, partitions and QOS from Slurm, with shared caches."""

    sacctmgr = Unicode(
        "/usr/bin/sacctmgr",
        help="""Full path of sacctmgr (JupyterHub >= 5.2 gives its commands no PATH).

        c.SlurmDiscovery.sacctmgr = "/opt/slurm/bin/sacctmgr"
        """,
    ).tag(config=True)
    scontrol = Unicode(
        "/usr/bin/scontrol",
        help="""Full path of scontrol (partitions are read with ``scontrol show partition -o``).

        c.SlurmDiscovery.scontrol = "/opt/slurm/bin/scontrol"
        """,
    ).tag(config=True)
    cluster = Unicode(
        "",
        help="""Slurm cluster name to ask about, for a slurmdbd that serves several
        clusters. Empty: the local cluster.

        c.SlurmDiscovery.cluster = "perlmutter"
        """,
    ).tag(config=True)
    cluster_wide = Bool(
        True,
        help="""Read every user's associations in one query per cache period.

        Needs the hub to be allowed to see all associations (it usually is).
        Set False where it is not: then one query per user and cache period.

        c.SlurmDiscovery.cluster_wide = False
        """,
    ).tag(config=True)
    cache_ttl = Float(
        300.0,
        help="""Seconds a discovery result is reused (per user and cluster-wide).

        c.SlurmDiscovery.cache_ttl = 600
        """,
    ).tag(config=True)
    error_ttl = Float(
        30.0,
        help="""Seconds a failed discovery is remembered before Slurm is asked again
        (logins meanwhile get the same notice, without a query).

        c.SlurmDiscovery.error_ttl = 60
        """,
    ).tag(config=True)
    free_ttl = Float(
        30.0,
        min=0,
        help="""Seconds the nodes' free resources (one ``scontrol show node -o`` for the
        whole cluster, shared by all users) are reused. They also give the largest
        node of each partition, which bounds the cores and memory a session may ask for.

        c.SlurmDiscovery.free_ttl = 60
        """,
    ).tag(config=True)
    command_timeout = Float(
        10.0,
        help="""Seconds a discovery command may take before it is killed.

        c.SlurmDiscovery.command_timeout = 20
        """,
    ).tag(config=True)

    # One set of caches per hub process: every spawner shares them.
    _caches: ClassVar[dict[str, TTLCache[str, str]]] = {}
    #: How many commands of each kind ran (for tests and benchmarks).
    commands_run: ClassVar[Counter[str]] = Counter()
    # Parsed answers and each user's entitlements, valid while the answers are the same
    # objects (the caches hand out the same text until they ask again).
    _parse_memo: ClassVar[dict[str, tuple[str, Any]]] = {}
    _built: ClassVar[dict[str, tuple[tuple[Any, ...], Entitlements]]] = {}
    _groups: ClassVar[dict[str, tuple[float, list[str] | None]]] = {}

    def _cache(self, kind: str) -> TTLCache[str, str]:
        ttl = self.free_ttl if kind == "node" else self.cache_ttl
        cache = self._caches.get(kind)
        if cache is None or cache.ttl != ttl:
            cache = self._caches[kind] = TTLCache(ttl, min(self.error_ttl, ttl) or self.error_ttl)
        return cache

    @classmethod
    def forget(cls) -> None:
        """Drop every cached answer (tests; an admin after changing accounting)."""
        for cache in cls._caches.values():
            cache.clear()
        cls._parse_memo.clear()
        cls._built.clear()
        cls._groups.clear()

    async def _run(self, kind: str, argv: list[str]) -> str:
        self.commands_run[kind] += 1
        result = await run_command(argv, timeout=self.command_timeout, env={"LANG": "C"})
        return result.stdout

    def _cluster_args(self) -> list[str]:
        return [f"cluster={self.cluster}"] if self.cluster else []

    async def association_text(self, username: str) -> str:
        fmt = "format=" + ",".join(ASSOC_FIELDS)
        if self.cluster_wide:
            argv = [self.sacctmgr, "-nP", "show", "users", "withassoc", fmt, *self._cluster_args()]
            return await self._cache("assoc").get("*", lambda: self._run("assoc", argv))
        argv = [
            self.sacctmgr,
            "-nP",
            "show",
            "users",
            "withassoc",
            fmt,
            "where",
            f"user={username}",
            *self._cluster_args(),
        ]
        return await self._cache("assoc").get(username, lambda: self._run("assoc", argv))

    async def partition_text(self) -> str:
        argv = [self.scontrol, "show", "partition", "-o"]
        return await self._cache("partition").get("*", lambda: self._run("partition", argv))

    async def qos_text(self) -> str:
        argv = [self.sacctmgr, "-nP", "show", "qos", "format=" + ",".join(QOS_FIELDS)]
        return await self._cache("qos").get("*", lambda: self._run("qos", argv))

    async def node_text(self) -> str:
        argv = [self.scontrol, "show", "node", "-o"]
        return await self._cache("node").get("*", lambda: self._run("node", argv))

    async def nodes(self) -> list[Node]:
        """Every node, from the one cluster-wide query of the current period."""
        return self._parsed("node", await self.node_text(), parse_nodes)

    def _parsed(self, kind: str, text: str, parse: Callable[[str], T]) -> T:
        """``parse(text)``, parsed once per answer (the form asks at every change)."""
        seen = self._parse_memo.get(kind)
        if seen is not None and seen[0] is text:
            return seen[1]  # type: ignore[no-any-return]
        parsed = parse(text)
        self._parse_memo[kind] = (text, parsed)
        return parsed

    async def free_resources(self) -> dict[str, FreeResources]:
        """Free resources per partition (all users share the query; :attr:`free_ttl`)."""
        return free_per_partition(await self.nodes())

    async def _node_sizes(self) -> list[Node]:
        # Node sizes only bound cores and memory: without them the form still works.
        try:
            return await self.nodes()
        except SchedulerError as e:
            self.log.warning("Slurm node query failed: %s", e)
            last = self._cache("node").last_value("*")
            return parse_nodes(last) if last else []

    def _groups_of(self, username: str) -> list[str] | None:
        # getgrouplist reads the group database (LDAP at many sites): once per period.
        now = time.monotonic()
        seen = self._groups.get(username)
        if seen is None or seen[0] <= now:
            seen = self._groups[username] = (now + self.cache_ttl, unix_groups(username))
        return seen[1]

    async def entitlements(self, username: str) -> Entitlements:
        """What ``username`` may use; on failure, no batch choice and a notice why.

        Built once per user and set of answers: every estimate validates the
        user's choice, and a login storm must not rebuild it for each change.
        """
        try:
            assoc_text = await self.association_text(username)
            partition_text = await self.partition_text()
            qos_text = await self.qos_text()
            nodes = await self._node_sizes()
            groups = self._groups_of(username)
            sources = (assoc_text, partition_text, qos_text, nodes, groups)
            built = self._built.get(username)
            if built is not None and all(
                a is b or a == b for a, b in zip(built[0], sources, strict=True)
            ):
                return built[1]
            partitions = self._parsed("partition", partition_text, parse_partitions)
            qos = self._parsed("qos", qos_text, lambda t: parse_qos(t, QOS_FIELDS))
            associations = parse_associations(assoc_text, ASSOC_FIELDS)
        except SchedulerError as e:
            self.log.warning("Slurm discovery for %s failed: %s", username, e)
            return Entitlements(
                user=username,
                notice=f"The Slurm batch system is not answering right now ({e}). "
                "Batch sessions cannot be started; you can run locally.",
            )
        entitlements = build_entitlements(
            username,
            associations,
            partitions,
            qos,
            user_groups=groups,
            nodes=nodes,
        )
        if not entitlements.partitions:
            entitlements = Entitlements(
                user=username,
                notice="You have no Slurm association that allows a partition here.",
            )
        self._built[username] = (sources, entitlements)
        return entitlements
