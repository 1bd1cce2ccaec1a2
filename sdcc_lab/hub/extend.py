"""``/hub/api/sdcc-lab/extend``: more time for a running session, within the site's policy.

The user's server asks (``POST {"minutes": int}``, with its own API token, as
the port report does; the user's own token or login cookie work too); the hub
checks, in this order:

1. the request: ``minutes`` a whole number from 1 (400), at most
   :attr:`ExtendPolicy.max_minutes` (403);
2. the session: a running batch session of this user that the token may
   reach (409 otherwise; a user never reaches another user's job: only the
   caller's own spawners are looked at);
3. the policy: at most :attr:`ExtendPolicy.max_extensions` per session, never
   past the limit of the job's partition, QOS or association as the user's
   entitlements give it (the same numbers the form checks runtimes against),
   and, if :attr:`ExtendPolicy.refuse_while_pending`, not while the partition
   has jobs waiting (403 each, with a message; nothing is changed).

Then the hub runs ``scontrol update JobId=… TimeLimit=…`` with its own
privileges (an argument list, through :mod:`sdcc_lab.scheduler.commands`;
users may only lower their own limits, so the hub's account must be a Slurm
operator), logs it, and answers the job's new end. HTCondor sessions are
"not available" unless the site names the job attribute that carries their
runtime limit (:attr:`ExtendPolicy.htcondor_runtime_attribute`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from tornado import web
from traitlets import Bool, Float, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

from ..jsonbody import json_object
from ..scheduler.commands import run_command
from ..scheduler.errors import SchedulerError, SchedulerRefused
from ..scheduler.slurm import SlurmParseError, parse_scontrol_job

EXTEND_PATH = r"/api/sdcc-lab/extend"
SETTINGS_KEY = "sdcc_lab_extend_policy"
LOCK_KEY = "sdcc_lab_extend_lock"
ACTIVE_STATES = {"RUNNING", "PENDING", "SUSPENDED", "CONFIGURING"}
HTCONDOR_UNAVAILABLE = "Extend is not available for HTCondor sessions at this site."


class ExtendPolicy(LoggingConfigurable):
    """How much more time users may give their running sessions (``c.ExtendPolicy.…``)."""

    max_minutes = Integer(
        60,
        min=1,
        help="""The most minutes one extension adds; more is refused (403)::

            c.ExtendPolicy.max_minutes = 120
        """,
    ).tag(config=True)

    max_extensions = Integer(
        2,
        min=0,
        help="""The most extensions per session (0: Extend is off); one more is refused (403).
        A new session starts again from none::

            c.ExtendPolicy.max_extensions = 3
        """,
    ).tag(config=True)

    minute_choices = List(
        Integer(min=1),
        [15, 30, 60],
        help="""The minutes the resources panel offers; those over ``max_minutes`` are left
        out, and ``max_minutes`` itself is always offered::

            c.ExtendPolicy.minute_choices = [10, 30, 60, 120]
        """,
    ).tag(config=True)

    refuse_while_pending = Bool(
        False,
        help="""Refuse extensions (403) while the job's partition has jobs waiting, so that
        running sessions do not keep others from starting::

            c.ExtendPolicy.refuse_while_pending = True
        """,
    ).tag(config=True)

    scontrol = Unicode(
        "/usr/bin/scontrol",
        help="""Full path of scontrol: reads the job and updates its TimeLimit, as the hub's
        own account (which must be a Slurm operator: see the admin guide)::

            c.ExtendPolicy.scontrol = "/opt/slurm/bin/scontrol"
        """,
    ).tag(config=True)

    squeue = Unicode(
        "/usr/bin/squeue",
        help="""Full path of squeue (counts the partition's waiting jobs when
        ``refuse_while_pending`` is on)::

            c.ExtendPolicy.squeue = "/opt/slurm/bin/squeue"
        """,
    ).tag(config=True)

    htcondor_runtime_attribute = Unicode(
        "",
        help="""The HTCondor job attribute (seconds) that ends a session, e.g. the one the
        site's SYSTEM_PERIODIC_REMOVE compares against. Empty (the default): Extend is not
        available for HTCondor sessions. When set, the hub raises it with
        ``condor_qedit`` (as a queue super user)::

            c.ExtendPolicy.htcondor_runtime_attribute = "AllowedJobDuration"
        """,
    ).tag(config=True)

    condor_q = Unicode(
        "/usr/bin/condor_q",
        help="""Full path of condor_q (reads the runtime attribute)::

            c.ExtendPolicy.condor_q = "/opt/condor/bin/condor_q"
        """,
    ).tag(config=True)

    condor_qedit = Unicode(
        "/usr/bin/condor_qedit",
        help="""Full path of condor_qedit (sets the runtime attribute)::

            c.ExtendPolicy.condor_qedit = "/opt/condor/bin/condor_qedit"
        """,
    ).tag(config=True)

    command_timeout = Float(
        30.0,
        help="""Seconds a scheduler command of an extension may take before it is killed::

            c.ExtendPolicy.command_timeout = 60
        """,
    ).tag(config=True)

    def choices(self) -> list[int]:
        return sorted({m for m in self.minute_choices if m < self.max_minutes} | {self.max_minutes})


def policy_of(settings: dict[str, Any]) -> ExtendPolicy:
    """The hub's one policy object, configured from the hub's config."""
    policy = settings.get(SETTINGS_KEY)
    if not isinstance(policy, ExtendPolicy):
        policy = settings[SETTINGS_KEY] = ExtendPolicy(parent=settings.get("app"))
    return policy


class Refused(Exception):
    """An extension the policy or the session does not allow; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Extended:
    end: datetime | None
    limit_seconds: int


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


class Extender:
    """The policy's checks and the scheduler's update for one session (no HTTP here).

    ``spawner`` is the user's form spawner (its ``user_entitlements`` and
    ``extensions_used``); ``batch`` its batch child (``session_scheduler``,
    ``job_id``). ``run`` runs a scheduler command as the hub and returns its
    output (tests give recorded outputs).
    """

    def __init__(
        self,
        policy: ExtendPolicy,
        log: Any,
        run: Callable[[list[str]], Awaitable[str]] | None = None,
    ) -> None:
        self.policy = policy
        self.log = log
        self.run = run or self._run

    async def _run(self, argv: list[str]) -> str:
        """Run a scheduler command as the hub: an argument list, a minimal environment."""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C", "SLURM_TIME_FORMAT": "standard"}
        for name in ("SLURM_CONF", "CONDOR_CONFIG"):
            if name in os.environ:
                env[name] = os.environ[name]
        try:
            result = await run_command(argv, timeout=self.policy.command_timeout, env=env)
        except SchedulerRefused as e:
            self.log.warning("extension: %s", e)
            raise Refused(503, f"{e.program} refused: {e.output}") from None
        except SchedulerError as e:
            self.log.warning("extension: %s", e)
            raise Refused(503, f"the scheduler did not answer: {e}") from None
        return result.stdout

    def left(self, spawner: Any) -> int:
        return max(0, self.policy.max_extensions - int(getattr(spawner, "extensions_used", 0)))

    def none_left_message(self) -> str:
        n = self.policy.max_extensions
        if n == 0:
            return "Extending sessions is off at this site."
        return f"This session was extended {n} time{'s' if n != 1 else ''}, the most allowed."

    def check_session(self, spawner: Any, batch: Any) -> None:
        """Refused when this session cannot be extended at all (before any command)."""
        if batch.session_scheduler == "htcondor" and not self.policy.htcondor_runtime_attribute:
            raise Refused(409, HTCONDOR_UNAVAILABLE)
        if batch.session_scheduler not in ("slurm", "htcondor"):
            raise Refused(409, f"{batch.session_scheduler} sessions cannot be extended")
        if self.left(spawner) == 0:
            raise Refused(403, self.none_left_message())

    async def extend(self, spawner: Any, batch: Any, minutes: int) -> Extended:
        """Check the policy, update the job, count and log it; :class:`Refused` changes nothing."""
        if minutes > self.policy.max_minutes:
            raise Refused(403, f"at most {self.policy.max_minutes} min can be added at a time")
        self.check_session(spawner, batch)
        if batch.session_scheduler == "slurm":
            result = await self._extend_slurm(spawner, batch, minutes)
        else:
            result = await self._extend_htcondor(spawner, batch, minutes)
        spawner.extensions_used = int(getattr(spawner, "extensions_used", 0)) + 1
        self.log.info(
            "EXTEND %s's %s job %s by %d min: limit now %d min (extension %d of %d)",
            spawner.user.name,
            batch.session_scheduler,
            batch.job_id,
            minutes,
            result.limit_seconds // 60,
            spawner.extensions_used,
            self.policy.max_extensions,
        )
        return result

    async def _limit(
        self, spawner: Any, partition: str, account: str, qos: str
    ) -> tuple[int | None, str]:
        entitlements_of = getattr(spawner, "user_entitlements", None)
        if entitlements_of is None:
            raise Refused(409, "this hub's spawner cannot check the session's limits")
        try:
            entitlements = await entitlements_of()
        except SchedulerError as e:
            raise Refused(503, f"the scheduler did not answer: {e}") from None
        if entitlements.partition(partition) is None:
            raise Refused(403, f"you may no longer use partition {partition}")
        limit, by = entitlements.runtime_limit(partition, account, qos)
        return limit, by

    async def _slurm_job(self, job_id: str, user: str) -> Any:
        out = await self.run([self.policy.scontrol, "show", "job", "-o", job_id])
        try:
            job = parse_scontrol_job(out)
        except SlurmParseError as e:
            raise Refused(503, f"cannot read the job: {e}") from None
        if job.user not in (None, user):
            # Never happens through the spawner's own state; refuse rather than touch it.
            raise Refused(403, f"job {job_id} is not {user}'s")
        return job

    async def _extend_slurm(self, spawner: Any, batch: Any, minutes: int) -> Extended:
        policy, user = self.policy, spawner.user.name
        job = await self._slurm_job(batch.job_id, user)
        if job.state not in ACTIVE_STATES:
            raise Refused(409, f"job {job.job_id} is {job.state.lower()}, not running")
        if job.time_limit_seconds is None:
            raise Refused(409, f"job {job.job_id} has no time limit of its own to extend")
        current = job.time_limit_seconds // 60
        wanted = current + minutes
        limit, by = await self._limit(
            spawner, job.partition or "", job.account or "", job.qos or ""
        )
        if limit is not None and wanted > limit:
            room = max(0, limit - current)
            raise Refused(
                403,
                f"{current} + {minutes} min would pass the {limit} min limit of {by}"
                + (f": at most {room} min more" if room else ": no more time can be added"),
            )
        if policy.refuse_while_pending and job.partition:
            waiting = await self.run(
                [policy.squeue, "-h", "-p", job.partition, "-t", "PENDING", "-o", "%i"]
            )
            count = len(waiting.split())
            if count:
                raise Refused(
                    403,
                    f"partition {job.partition} has {count} job{'s' if count != 1 else ''} "
                    "waiting: no extensions until they start",
                )
        await self.run([policy.scontrol, "update", f"JobId={job.job_id}", f"TimeLimit={wanted}"])
        after = await self._slurm_job(batch.job_id, user)
        end = after.end_time
        if end is None and after.start_time is not None:
            end = after.start_time + timedelta(minutes=wanted)
        return Extended(end, after.time_limit_seconds or wanted * 60)

    async def _extend_htcondor(self, spawner: Any, batch: Any, minutes: int) -> Extended:
        policy = self.policy
        attribute = policy.htcondor_runtime_attribute
        out = await self.run(
            [policy.condor_q, batch.job_id, "-af", attribute, "JobCurrentStartDate", "Owner"]
        )
        fields = out.split()
        if len(fields) != 3 or not fields[0].isdigit():
            raise Refused(409, f"job {batch.job_id} has no {attribute} to extend")
        if fields[2] != spawner.user.name:
            raise Refused(403, f"job {batch.job_id} is not {spawner.user.name}'s")
        current = int(fields[0]) // 60
        wanted = current + minutes
        entitlements = await spawner.user_entitlements()
        limit = entitlements.htcondor.max_minutes if entitlements.htcondor else None
        if limit is not None and wanted > limit:
            raise Refused(
                403,
                f"{current} + {minutes} min would pass the {limit} min limit of HTCondor sessions",
            )
        await self.run([policy.condor_qedit, batch.job_id, attribute, str(wanted * 60)])
        start = int(fields[1]) if fields[1].isdigit() else None
        end = (
            datetime.fromtimestamp(start, timezone.utc) + timedelta(minutes=wanted)
            if start
            else None
        )
        return Extended(end, wanted * 60)


class ExtendHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    """``GET``: what the caller's session may still get; ``POST {"minutes"}``: extend it."""

    @property
    def extender(self) -> Extender:
        return Extender(policy_of(self.settings), self.log)

    def _session(self) -> tuple[Any, Any]:
        """The caller's running batch session: (form spawner, batch child)."""
        from .portreport import batch_spawner_of  # portreport lists this handler

        user = self.current_user
        if user is None or getattr(user, "kind", "user") != "user":
            raise web.HTTPError(403, "a user's server token, login or API token is required")
        found = []
        for name, spawner in user.spawners.items():
            # The server's own token reaches its own server only; the user's reach all theirs.
            if not self.has_scope(f"access:servers!server={user.name}/{name}"):
                continue
            batch = batch_spawner_of(spawner)
            if batch is not None and batch.job_id and spawner.active:
                found.append((spawner, batch))
        if not found:
            raise Refused(409, "you have no running batch session to extend")
        if len(found) > 1:
            raise Refused(409, "several sessions run: extend from the session itself")
        return found[0]

    async def get(self) -> None:
        extender = self.extender
        answer: dict[str, Any] = {
            "available": False,
            "reason": None,
            "max_minutes": extender.policy.max_minutes,
            "minutes": extender.policy.choices(),
            "extensions_left": 0,
        }
        try:
            spawner, batch = self._session()
            answer["extensions_left"] = extender.left(spawner)
            extender.check_session(spawner, batch)
            answer["available"] = True
        except Refused as e:
            answer["reason"] = str(e)
        self.set_header("Cache-Control", "no-store")
        self.finish(answer)

    async def post(self) -> None:
        body = json_object(self.request.body)
        minutes = body.get("minutes")
        if set(body) != {"minutes"} or isinstance(minutes, bool) or not isinstance(minutes, int):
            raise web.HTTPError(400, 'only {"minutes": <whole number>} is accepted')
        if minutes < 1:
            raise web.HTTPError(400, "minutes must be at least 1")
        extender = self.extender
        try:
            spawner, batch = self._session()
            lock = self.settings.setdefault(LOCK_KEY, asyncio.Lock())
            async with lock:  # two clicks at once must not both pass the count
                result = await extender.extend(spawner, batch, minutes)
                self._save_state(spawner)
        except Refused as e:
            self.log.info("extension of %s's session refused: %s", self.current_user.name, e)
            raise web.HTTPError(e.status, str(e)) from None
        self.set_header("Cache-Control", "no-store")
        self.finish(
            {
                "end": _iso(result.end),
                "limit_seconds": result.limit_seconds,
                "extensions_left": extender.left(spawner),
            }
        )

    def _save_state(self, spawner: Any) -> None:
        """The count survives a hub restart: it is part of the spawner's saved state."""
        orm = getattr(spawner, "orm_spawner", None)
        if orm is not None:
            orm.state = spawner.get_state()
            self.db.commit()
