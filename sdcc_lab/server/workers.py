"""``sdcc-lab/api/workers``: the session's Dask worker jobs, listed and cancelled.

- ``GET  sdcc-lab/api/workers``       -> ``{"workers": [{id, name, state, reason,
  cpus, memory_bytes, gpus, partition}]}``
- ``DELETE sdcc-lab/api/workers/ID``  -> 204 once ``scancel`` took that job
- ``DELETE sdcc-lab/api/workers``     -> 204 once every worker job is cancelled

A worker job is a job of this server's user, still pending or running, named
``dask-USER-SESSIONJOB`` (:func:`sdcc_lab.session.worker_job_name`), where
SESSIONJOB is the job id of this server's :class:`~sdcc_lab.session.Session`
(the one the resources panel shows). Nothing else can be cancelled here:
another user's job, another session's workers and the session's own job all
answer 404.

Costs: one ``squeue --json --user USER`` serves every tab for
:attr:`WorkerJobs.cache_seconds`; concurrent requests share the query in
flight (the scheduler layer's :class:`~sdcc_lab.scheduler.cache.TTLCache`). A
DELETE asks again (never acts on a cached list). Sessions that are not Slurm
jobs list no workers. The scheduler failing gives 503 with ``{"message"}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..scheduler.cache import TTLCache
from ..scheduler.commands import run_command
from ..scheduler.errors import SchedulerError, SchedulerRefused, SchedulerUnparseable
from ..scheduler.slurm import Job, parse_squeue_json
from ..session import SETTINGS_KEY, Session, is_worker_job_name
from .handlers import API_PREFIX, SDCCAPIHandler

ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "SUSPENDED"})
_JOB_ID_RE = re.compile(r"^[0-9]{1,18}$")
# What scancel says about a job that ended between our squeue and its call.
_ALREADY_GONE = ("already completing or completed", "Invalid job id")


class WorkerJobs(LoggingConfigurable):
    """Finds and cancels this session's Dask worker jobs (Slurm)."""

    squeue_command = List(
        Unicode(),
        default_value=["squeue"],
        help="""The command that runs ``squeue`` (program and leading arguments).

        Example: ``c.WorkerJobs.squeue_command = ["/usr/bin/squeue"]``.
        """,
    ).tag(config=True)
    scancel_command = List(
        Unicode(),
        default_value=["scancel"],
        help="""The command that runs ``scancel`` (program and leading arguments).

        Example: ``c.WorkerJobs.scancel_command = ["/usr/bin/scancel"]``.
        """,
    ).tag(config=True)
    cache_seconds = Float(
        3.0,
        help="""Seconds one ``squeue`` answer serves every GET (all tabs share it).

        Example: ``c.WorkerJobs.cache_seconds = 10``.
        """,
    ).tag(config=True)
    timeout = Float(
        10.0,
        help="""Seconds a ``squeue`` or ``scancel`` call may take before it is abandoned (503).

        Example: ``c.WorkerJobs.timeout = 20``.
        """,
    ).tag(config=True)

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        # A failed query is not kept: the next GET asks again (as before the cache existed).
        self._cache: TTLCache[None, list[Job]] = TTLCache(self.cache_seconds, error_ttl=0)

    @property
    def user(self) -> str:
        return self.session.user

    @property
    def session_job_id(self) -> str | None:
        """The session's Slurm job id; None where it has no worker jobs (not a Slurm job)."""
        return self.session.job_id if self.session.scheduler == "slurm" else None

    @property
    def job_name(self) -> str | None:
        return self.session.worker_job_name if self.session_job_id is not None else None

    # -- listing ---------------------------------------------------------------------
    async def _query(self) -> list[Job]:
        argv = [*self.squeue_command, "--json", "--user", self.user]
        result = await run_command(argv, timeout=self.timeout)
        try:
            jobs = parse_squeue_json(json.loads(result.stdout))
        except ValueError as e:  # not JSON, or JSON of another shape (SlurmParseError)
            raise SchedulerUnparseable(f"cannot read squeue's answer: {e}", argv=argv) from None
        return [job for job in jobs if self.is_worker(job)]

    def is_worker(self, job: Job) -> bool:
        """One of this session's worker jobs, still queued or running."""
        return (
            self.session_job_id is not None
            and job.job_id != self.session_job_id
            and job.user == self.user
            and job.state in ACTIVE_STATES
            and is_worker_job_name(job.name, self.user, self.session_job_id)
        )

    async def jobs(self, fresh: bool = False) -> list[Job]:
        """The worker jobs: cached for ``cache_seconds``, one query in flight at a time."""
        if self.session_job_id is None:
            return []
        return list(await self._cache.get(None, self._query, fresh=fresh))

    # -- cancelling --------------------------------------------------------------------
    async def cancel(self, job_ids: Sequence[str]) -> None:
        """``scancel`` these jobs, restricted to this user and the workers' name."""
        if not job_ids or self.job_name is None:
            return
        argv = [
            *self.scancel_command,
            f"--user={self.user}",
            f"--name={self.job_name}",
            *job_ids,
        ]
        try:
            await run_command(argv, timeout=self.timeout)
        except SchedulerRefused as e:
            if not any(gone in e.output for gone in _ALREADY_GONE):
                raise
            self.log.info("sdcc_lab workers: %s", e.output)  # it ended meanwhile: nothing to do
        finally:
            self._cache.invalidate(None)  # the next GET asks again


def worker_json(job: Job) -> dict[str, Any]:
    """One worker job as the API shows it."""
    return {
        "id": job.job_id,
        "name": job.name,
        "state": job.state,
        "reason": job.reason if job.state == "PENDING" else None,
        "cpus": job.num_cpus,
        "memory_bytes": job.memory_bytes,
        "gpus": job.gpus,
        "partition": job.partition,
    }


class _WorkersBase(SDCCAPIHandler):
    @property
    def workers(self) -> WorkerJobs:
        found: WorkerJobs | None = self.settings.get("sdcc_lab_workers")
        if found is None:
            raise web.HTTPError(503, "the worker-jobs service is not running")
        return found

    async def _jobs(self, fresh: bool) -> list[Job]:
        try:
            return await self.workers.jobs(fresh=fresh)
        except SchedulerError as e:
            raise web.HTTPError(503, f"Slurm did not answer: {e}") from None

    async def _cancel(self, job_ids: list[str]) -> None:
        try:
            await self.workers.cancel(job_ids)
        except SchedulerError as e:
            raise web.HTTPError(503, f"Slurm did not cancel: {e}") from None
        self.log.info("sdcc_lab workers: cancelled %s", ", ".join(job_ids) or "nothing")


class WorkersHandler(_WorkersBase):
    """The list of the session's worker jobs; DELETE cancels them all."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = await self._jobs(fresh=False)
        self.set_header("Cache-Control", "no-store")
        self.finish({"workers": [worker_json(job) for job in jobs]})

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        jobs = await self._jobs(fresh=True)
        await self._cancel([job.job_id for job in jobs])
        self.set_status(204)
        self.finish()


class WorkerHandler(_WorkersBase):
    """DELETE one worker job (404 unless it is one of this session's)."""

    @web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        if not _JOB_ID_RE.match(job_id):
            raise web.HTTPError(400, f"{job_id[:40]!r} is not a Slurm job id")
        jobs = await self._jobs(fresh=True)
        if job_id not in {job.job_id for job in jobs}:
            raise web.HTTPError(404, f"job {job_id} is not one of this session's Dask worker jobs")
        await self._cancel([job_id])
        self.set_status(204)
        self.finish()


def workers_handlers(base_url: str) -> list[tuple[str, type[SDCCAPIHandler]]]:
    return [
        (url_path_join(base_url, API_PREFIX, "workers"), WorkersHandler),
        (url_path_join(base_url, API_PREFIX, "workers", "([^/]+)"), WorkerHandler),
    ]


def setup_workers(server_app: Any) -> WorkerJobs:
    """The server's one WorkerJobs (configured as ``c.WorkerJobs.…``) for the server's Session."""
    return WorkerJobs(
        server_app.web_app.settings[SETTINGS_KEY],
        parent=server_app,
        log=server_app.log,
    )
