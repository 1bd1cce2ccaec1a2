"""Single-user servers as batch jobs: what Slurm and HTCondor sessions share.

A batch session's life:

1. ``start`` submits a job as the user (through ``exec_prefix``; an argument
   list, never a shell) whose script runs ``sdcc-lab-singleuser``;
2. while the job waits, the progress page shows the scheduler's reason;
3. in the job, ``sdcc-lab-singleuser`` picks a free port and reports it to the
   hub (``POST /hub/api/sdcc-lab/port``, an integer and nothing else), then
   starts ``jupyterhub-singleuser`` on it;
4. the hub connects to the job's node, which it learns from the scheduler,
   never from the job.

The server's API token never travels with the job: the scheduler keeps what a
job was submitted with (Slurm's state directory, ``scontrol show job -dd``;
HTCondor's job ad, readable by every user), so the hub writes the token, as
the user, to a file only the user can read (``token_dir_template``, folder
700, file 600) and passes the job only the file's path
(``SDCC_LAB_TOKEN_FILE``). The file goes when the session ends: stop, failed
start, or the job gone. Commands run as the user get a minimal environment
(:func:`~sdcc_lab.scheduler.commands.run_as_user`), never the hub's own.

A job that dies before its server comes up ends the spawn with the
scheduler's reason; a job that stays pending past ``pending_timeout`` is
cancelled. ``get_state`` keeps the job id, so a restarted hub reconnects to a
running job and ``stop`` still cancels it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import secrets
import shlex
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from jupyterhub.spawner import Spawner
from traitlets import Dict, Float, Integer, List, Unicode, default

from ..labels import job_name, scheduler_name
from ..scheduler.commands import run_as_user
from ..scheduler.ends import JobEnd
from ..scheduler.errors import SchedulerError, SchedulerUnparseable
from ..scheduler.reasons import WaitReason
from ..session import SECRET_ENV_NAMES
from .ends import record_job_end
from .errors import SessionRefused
from .identity import SessionIdentityMixin

# Names of variables a job may be given (sbatch --export takes a comma-separated list).
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class JobStatus:
    """What the scheduler says of a job, reduced to what a spawner needs."""

    state: str  # "pending", "running", "gone"
    detail: str | None = None  # the scheduler's reason or final state
    host: str | None = None
    #: A pending job's reason in plain words (sdcc_lab.scheduler.reasons), if the scheduler gives one.
    reason: WaitReason | None = None
    #: A pending job's expected start, as the scheduler estimates it (UTC), if it has one.
    start: datetime | None = None


def when_words(start: datetime | None, now: datetime | None = None) -> str:
    """The words for an expected start ("Expected to start at 14:20 UTC (in about 35 min).")."""
    if start is None:
        return ""
    now = now or datetime.now(timezone.utc)
    minutes = round((start - now).total_seconds() / 60)
    if minutes <= 0:
        return "Expected to start any moment now."
    soon = f"in about {minutes} min" if minutes < 120 else f"in about {minutes // 60} h"
    day = "" if start.date() == now.date() else f"{start:%Y-%m-%d} "
    return f"Expected to start at {day}{start:%H:%M} UTC ({soon})."


class BatchSessionError(SessionRefused):
    """The batch system refused or lost the session; the message is for the user."""

    def __init__(self, message: str, *, reason: str = "batch") -> None:
        super().__init__(message, reason=reason)


class JobNotWaiting(SessionRefused):
    """The session's job is not (or no longer) waiting in the queue."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="state", status_code=409)


class BatchSessionSpawner(SessionIdentityMixin, Spawner):  # type: ignore[misc]  # JupyterHub is untyped
    """Base of the batch backends. Subclasses implement submit, status and cancel."""

    exec_prefix = List(
        Unicode(),
        ["/usr/sbin/runuser", "-u", "{username}", "--"],
        help="""Command prefix that runs commands as the user: the scheduler's submit and
        cancel commands, and ``mkdir``/``install``/``dd``/``rm`` of the job's log folder and
        token file.

        ``{username}`` is replaced by the (checked) user name. The command gets
        PATH, LANG, ``command_environment`` and (submit only) the job's own
        variables: never the hub's environment. With a hub not running as root,
        use sudo (without ``-E``) and a sudoers rule for exactly those commands
        that keeps the job's variables (see the admin guide)::

            c.BatchSessionSpawner.exec_prefix = ["/usr/bin/sudo", "-n", "-u", "{username}", "--"]
        """,
    ).tag(config=True)

    command_environment = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Extra variables for the commands run as the user (admin-written; never
        secrets: the user can read them), e.g. where the scheduler's configuration is::

            c.BatchSessionSpawner.command_environment = {"SLURM_CONF": "/etc/slurm/slurm.conf"}
        """,
    ).tag(config=True)

    token_dir_template = Unicode(
        "{home}/.sdcc-lab/run",
        help="""Folder (mode 700, made by the user) of the files that hand each job its
        server's API token (mode 600, one per session, removed when it ends).
        ``{home}`` is the user's home, ``{username}`` their name. It must be on a file
        system the job's node sees at the same path (the home, usually)::

            c.BatchSessionSpawner.token_dir_template = "/sdcc/u/{username}/.sdcc-lab/run"
        """,
    ).tag(config=True)

    pending_timeout = Float(
        600.0,
        help="""Seconds a job may wait in the queue before the spawn gives up and cancels it.

        c.BatchSessionSpawner.pending_timeout = 1800
        """,
    ).tag(config=True)

    server_timeout = Float(
        120.0,
        help="""Seconds from the job starting to run until its server must report its port.

        c.BatchSessionSpawner.server_timeout = 300
        """,
    ).tag(config=True)

    status_interval = Float(
        2.0,
        help="""Seconds between job-state queries while a session starts.

        c.BatchSessionSpawner.status_interval = 5
        """,
    ).tag(config=True)

    command_timeout = Float(
        30.0,
        help="""Seconds a scheduler command (submit, status, cancel) may take before it is killed.

        c.BatchSessionSpawner.command_timeout = 60
        """,
    ).tag(config=True)

    host_map = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Addresses for node names the hub cannot resolve (node name -> address).

        c.BatchSessionSpawner.host_map = {"n12": "10.1.0.12"}
        """,
    ).tag(config=True)

    job_bind_ip = Unicode(
        "0.0.0.0",
        help="""Address the server in the job listens on (it requires the hub's auth).

        c.BatchSessionSpawner.job_bind_ip = "10.1.0.0"
        """,
    ).tag(config=True)

    log_dir_template = Unicode(
        "{home}/.sdcc-lab/logs",
        help="""Folder of the jobs' log files, made by the user; ``{home}`` is the user's
        home, ``{username}`` their name.

        c.BatchSessionSpawner.log_dir_template = "/scratch/{username}/jupyter-logs"
        """,
    ).tag(config=True)

    environment_setup = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Shell lines (written by the admin) that prepare each named software
        environment in the job, before the server starts. Set by the form spawner
        from its ``environments``.""",
    )

    start_instead_tests = Integer(
        3,
        min=0,
        help="""Most test submissions (``sbatch --test-only``, through the hub's start
        estimator and its budget) made per waiting job to find other choices of the user
        that would start sooner ("start instead" on the pending page). 0: none offered.

        c.BatchSessionSpawner.start_instead_tests = 5
        """,
    ).tag(config=True)

    @default("start_timeout")
    def _default_start_timeout(self) -> int:
        # JupyterHub's own limit must leave room for our pending and server timeouts.
        return 900

    # --- state kept across hub restarts ---------------------------------------
    job_id = Unicode("")
    job_host = Unicode("")
    reported_port = Integer(0)
    token_file = Unicode("")  # so that a restarted hub still removes it

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.job_id = str(state.get("job_id", ""))
        self.job_host = str(state.get("job_host", ""))
        self.reported_port = int(state.get("port", 0) or 0)
        self.token_file = str(state.get("token_file", ""))

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        if self.job_id:
            state.update(job_id=self.job_id, job_host=self.job_host, port=self.reported_port)
        if self.token_file:
            state["token_file"] = self.token_file
        return state

    def clear_state(self) -> None:
        super().clear_state()
        self.job_id = ""
        self.job_host = ""
        self.reported_port = 0
        self.token_file = ""

    # --- what a backend implements ---------------------------------------------
    # (Plain methods: traitlets classes do not enforce @abstractmethod. A backend also
    # sets ``session_scheduler`` to its name in ``sdcc_lab.session.SCHEDULERS``.)
    def _not_implemented(self, method: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__} must implement {method}(): use SlurmSessionSpawner or "
            "HTCondorSessionSpawner, or a subclass of BatchSessionSpawner that implements "
            "submit_job, job_status and cancel_job"
        )

    async def submit_job(self, options: dict[str, Any]) -> str:
        """Submit the job; return its id. Raise BatchSessionError with the scheduler's words."""
        raise self._not_implemented("submit_job")

    async def job_status(self) -> JobStatus:
        """The state of ``self.job_id``; raise a SchedulerError when the scheduler gives none."""
        raise self._not_implemented("job_status")

    async def cancel_job(self) -> None:
        """Cancel ``self.job_id``."""
        raise self._not_implemented("cancel_job")

    async def job_end(self) -> JobEnd | None:
        """How ``self.job_id`` ended, from the scheduler's records (None: it keeps none).

        Called once the job is gone; raise a SchedulerError when the scheduler does
        not answer. Backends give theirs (Slurm: sacct; HTCondor: the job ad).
        """
        return None

    # --- helpers for backends -------------------------------------------------------
    @property
    def unix_user(self) -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(self.user.name)
        except KeyError:
            raise BatchSessionError(
                f"{self.user.name} has no account on the hub's node, so no batch job can run as them"
            ) from None

    def log_dir(self) -> str:
        entry = self.unix_user
        return self.log_dir_template.format(home=entry.pw_dir, username=entry.pw_name)

    async def as_user(
        self, argv: list[str], *, env: dict[str, str] | None = None, **kwargs: Any
    ) -> str:
        """Run ``argv`` as the user with PATH, LANG, ``command_environment`` and ``env`` only."""
        result = await run_as_user(
            self.exec_prefix,
            self.user.name,
            argv,
            timeout=self.command_timeout,
            env={**self.command_environment, **(env or {})},
            **kwargs,
        )
        return result.stdout

    async def submit_as_user(
        self,
        argv: list[str],
        script: str,
        parse: Callable[[str], str],
        *,
        scheduler: str,
        env: dict[str, str] | None = None,
    ) -> str:
        """Run a submit command as the user (script on stdin); return the job id it printed."""
        try:
            out = await self.as_user(argv, env=env, input_text=script, cwd=self.unix_user.pw_dir)
        except SchedulerError as e:
            raise BatchSessionError(f"{scheduler} refused the job: {e.output}") from e
        try:
            return parse(out)
        except SchedulerUnparseable as e:
            raise BatchSessionError(f"{os.path.basename(argv[0])} gave no job id: {e}") from e

    async def ensure_log_dir(self) -> str:
        path = self.log_dir()
        try:
            await self.as_user(["/bin/mkdir", "-p", path])
        except SchedulerError as e:
            raise BatchSessionError(f"cannot create the job log folder {path}: {e.output}") from e
        return path

    def token_dir(self) -> str:
        entry = self.unix_user
        return self.token_dir_template.format(home=entry.pw_dir, username=entry.pw_name)

    async def ensure_token_file(self) -> str:
        """Write the server's API token to a new file only the user can read; return its path.

        Written by the user's own commands (``exec_prefix``, token on standard
        input): the hub never creates or follows anything in the user's folders.
        """
        folder = self.token_dir()
        path = f"{folder}/jupyter-{secrets.token_hex(8)}.token"
        try:
            # install -d sets the mode of a folder that already exists too.
            await self.as_user(["/usr/bin/install", "-d", "-m", "700", folder])
            self.token_file = path
            await self.as_user(["/usr/bin/install", "-m", "600", "/dev/null", path])
            # dd reads its standard input as it is: the user may not reopen the hub's
            # pipe (/dev/stdin), which belongs to the hub's account.
            await self.as_user(
                ["/bin/dd", f"of={path}", "status=none"], input_text=f"{self.api_token}\n"
            )
        except SchedulerError as e:
            raise BatchSessionError(
                f"cannot write the session's token file in {folder}: {e.output}"
            ) from e
        return path

    async def remove_token_file(self) -> None:
        """Remove this session's token file (stop, failed start, job gone)."""
        if not self.token_file:
            return
        try:
            await self.as_user(["/bin/rm", "-f", "--", self.token_file])
        except SchedulerError as e:
            self.log.warning(
                "could not remove %s's token file %s: %s", self.user.name, self.token_file, e
            )
            return
        self.token_file = ""

    def job_environment(self) -> dict[str, str]:
        """The job's variables: everything of ``get_env()`` but its secrets, which reach the
        job through ``SDCC_LAB_TOKEN_FILE`` only."""
        token = self.api_token
        env = {
            name: value
            for name, value in self.get_env().items()
            if name not in SECRET_ENV_NAMES and not (token and token in value)
        }
        for name in env:
            if not ENV_NAME_RE.match(name):
                raise BatchSessionError(
                    f"environment variable name {name!r} cannot be passed to a job"
                )
        env["SDCC_LAB_BIND_IP"] = self.job_bind_ip
        env["SDCC_LAB_SCHEDULER"] = self.session_scheduler
        env["SDCC_LAB_TOKEN_FILE"] = self.token_file
        return env

    def server_command(self) -> str:
        """The shell text that prepares the environment and execs the server."""
        environment = str(self.session_options().get("environment") or "")
        setup = self.environment_setup.get(environment, "")
        argv = [*self.cmd, *self.get_args()]
        return f"{setup}\nexec {shlex.join(argv)}\n"

    # --- the Spawner interface ----------------------------------------------------------
    def clock(self) -> float:
        """Monotonic seconds for the pending and server timeouts (tests replace it)."""
        return time.monotonic()

    _status_message: str = ""
    _starting: bool = False

    def accept_port(self, port: int) -> bool:
        """The port report of this spawner's job (checked by the API handler)."""
        if not self._starting or not self.job_id:
            return False
        self.reported_port = port
        return True

    def _say(self, message: str) -> None:
        if message != self._status_message:
            self.log.info("%s: %s", self._log_name, message)
            self._status_message = message

    async def start(self) -> tuple[str, int]:
        options = dict(self.session_options())
        self.reported_port = 0
        self._starting = True
        try:
            # Progress words name the job as the session panel does (labels.json).
            self._say(f"Submitting your {scheduler_name(self.session_scheduler)}…")
            self.job_id = await self.submit_job(options)
            self._say(f"Submitted {job_name(self.session_scheduler, self.job_id)}")
            host = await self._wait_for_server()
        except BaseException:
            self._starting = False
            self.wait_info = None
            if self.job_id:
                await self._cancel_quietly()
            await self.remove_token_file()
            raise
        self._starting = False
        self.wait_info = None
        self.job_host = host
        return self.host_map.get(host, host), self.reported_port

    async def _wait_for_server(self) -> str:
        self._submitted_at = self.clock()
        running_since: float | None = None
        while True:
            asked = self.job_id
            status = await self.job_status()
            if self.job_id != asked:
                continue  # replaced meanwhile ("start instead"): ask about the new job
            where = self.session_options().get("partition")
            if status.state == "gone":
                raise BatchSessionError(
                    f"Your job {self.job_id} ended before JupyterLab started "
                    f"({status.detail or 'no reason given'}). Its log is in {self.log_dir()}."
                )
            if status.state == "pending":
                self._note_pending(status)
                words = " ".join(
                    w
                    for w in (
                        (status.reason.words if status.reason else ""),
                        when_words(status.start),
                    )
                    if w
                )
                self._say(
                    f"Pending: {status.detail or 'waiting'}, job {self.job_id}"
                    + (f" on partition {where}" if where else "")
                    + (f". {words}" if words else "")
                )
                if self.clock() - self._submitted_at > self.pending_timeout:
                    raise BatchSessionError(
                        f"Job {self.job_id} was still pending after {self.pending_timeout:.0f} s "
                        f"({status.detail or 'no reason given'}), so it was cancelled. "
                        "Try a shorter runtime or another partition."
                    )
            else:
                self.wait_info = None
                if running_since is None:
                    running_since = self.clock()
                self._say(
                    f"{job_name(self.session_scheduler, self.job_id)} is running on "
                    f"{status.host}; starting JupyterLab…"
                )
                if self.reported_port and status.host:
                    return status.host
                if self.clock() - running_since > self.server_timeout:
                    raise BatchSessionError(
                        f"Job {self.job_id} runs, but JupyterLab did not start within "
                        f"{self.server_timeout:.0f} s. Its log is in {self.log_dir()}."
                    )
            await asyncio.sleep(self.status_interval)

    # --- a pending job: why it waits, cancel, start instead -----------------------------
    #: What the last status query said of the waiting job (None: not waiting); the
    #: progress events and ``GET /hub/api/sdcc-lab/pending/USER`` show it.
    wait_info: dict[str, Any] | None = None
    _submitted_at: float = 0.0
    _switching: bool = False
    #: The "start instead" search of the waiting job (sdcc_lab.hub.pending).
    alternatives_search: Any = None

    def _note_pending(self, status: JobStatus) -> None:
        options = self.session_options()
        self.wait_info = {
            "job_id": self.job_id,
            "scheduler": self.session_scheduler,
            "partition": options.get("partition"),
            "reason_code": status.reason.code if status.reason else status.detail,
            "reason": status.reason.words if status.reason else status.detail,
            "start": status.start.isoformat() if status.start else None,
        }

    def waiting(self) -> bool:
        """True while this session's job waits in the queue (it can be cancelled or replaced)."""
        return self._starting and bool(self.job_id) and self.wait_info is not None

    async def switch_job(self, options: dict[str, Any]) -> str:
        """Submit ``options`` (validated by the caller) and cancel the waiting job once the
        new one is accepted; the spawn under way then follows the new job.

        The first job is cancelled only after the scheduler accepted the second, so a
        refused alternative loses the user nothing. Returns the new job's id.
        """
        if not self.waiting() or self._switching:
            raise JobNotWaiting("your job is not waiting in the queue")
        self._switching = True
        try:
            status = await self.job_status()
            if status.state != "pending":
                raise JobNotWaiting(f"job {self.job_id} is no longer waiting ({status.state})")
            old_job, old_token_file, old_options = self.job_id, self.token_file, self.user_options
            self.user_options = dict(options)
            try:
                new_job = await self.submit_job(options)
            except BaseException:
                self.user_options = old_options
                if self.token_file != old_token_file:
                    await self.remove_token_file()
                    self.token_file = old_token_file
                raise
            self.job_id, self.reported_port, self.wait_info = new_job, 0, None
            self._submitted_at = self.clock()
            self._say(
                f"Submitted {job_name(self.session_scheduler, new_job)} instead of job {old_job}"
            )
            try:
                await self.as_user(self.cancel_argv(old_job))
            except SchedulerError as e:
                self.log.warning("could not cancel job %s of %s: %s", old_job, self.user.name, e)
            if old_token_file and old_token_file != self.token_file:
                try:
                    await self.as_user(["/bin/rm", "-f", "--", old_token_file])
                except SchedulerError as e:
                    self.log.warning("could not remove token file %s: %s", old_token_file, e)
            self.log.info(
                "%s: job %s replaced by job %s (%s)",
                self._log_name,
                old_job,
                new_job,
                json.dumps(options, sort_keys=True),
            )
            return new_job
        finally:
            self._switching = False

    def cancel_argv(self, job_id: str) -> list[str]:
        """The command, run as the user, that cancels ``job_id`` (backends give theirs)."""
        raise self._not_implemented("cancel_argv")

    async def _cancel_quietly(self) -> None:
        try:
            await self.cancel_job()
        except SchedulerError as e:
            self.log.warning("could not cancel job %s of %s: %s", self.job_id, self.user.name, e)

    async def poll(self) -> int | None:
        if not self.job_id:
            return 0
        try:
            status = await self.job_status()
        except SchedulerError as e:
            # The scheduler not answering is not the job ending.
            self.log.warning("cannot poll job %s: %s", self.job_id, e)
            return None
        if status.state == "gone":
            if self.job_host:
                # It ran (a start that failed said why on its own page): keep how it
                # ended for the user's next visit (sdcc_lab.hub.ends).
                await record_job_end(self, status.detail)
            await self.remove_token_file()
            self.clear_state()
            return 1
        return None

    async def stop(self, now: bool = False) -> None:
        if self.job_id:
            await self._cancel_quietly()
        await self.remove_token_file()
        self._starting = False

    async def progress(self) -> AsyncIterator[dict[str, Any]]:
        last: tuple[str, Any] = ("", None)
        while self._starting:
            now = (self._status_message, self.wait_info)
            if self._status_message and now != last:
                last = now
                event: dict[str, Any] = {"progress": 50, "message": self._status_message}
                if self.wait_info is not None:
                    # For the portal's pending page: why the job waits and when it should start.
                    event["sdcc"] = dict(self.wait_info)
                yield event
            await asyncio.sleep(0.5)
