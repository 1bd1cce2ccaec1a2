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
from collections import Counter
from typing import ClassVar

from traitlets import Bool, Float, Unicode
from traitlets.config import LoggingConfigurable

from ..scheduler.cache import TTLCache
from ..scheduler.commands import run_command
from ..scheduler.errors import SchedulerError
from ..scheduler.slurm import parse_associations, parse_partitions, parse_qos
from ..scheduler.slurm.nodes import FreeResources, Node, free_per_partition, parse_nodes
from .entitlements import Entitlements, build_entitlements

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
        return parse_nodes(await self.node_text())

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

    async def entitlements(self, username: str) -> Entitlements:
        """What ``username`` may use; on failure, no batch choice and a notice why."""
        try:
            assoc_text = await self.association_text(username)
            partitions = parse_partitions(await self.partition_text())
            qos = parse_qos(await self.qos_text(), QOS_FIELDS)
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
            user_groups=unix_groups(username),
            nodes=await self._node_sizes(),
        )
        if not entitlements.partitions:
            return Entitlements(
                user=username,
                notice="You have no Slurm association that allows a partition here.",
            )
        return entitlements
