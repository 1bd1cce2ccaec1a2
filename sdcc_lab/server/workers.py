"""``sdcc-lab/api/workers``: the session's Dask worker jobs, listed and cancelled.

- ``GET  sdcc-lab/api/workers``       -> ``{"workers": [{id, name, state, reason,
  cpus, memory_bytes, gpus, partition}]}``
- ``DELETE sdcc-lab/api/workers/ID``  -> 204 once ``scancel`` took that job
- ``DELETE sdcc-lab/api/workers``     -> 204 once every worker job is cancelled

A worker job is a job of this server's user, still pending or running, named
``dask-USER-SESSIONJOB`` (:func:`sdcc_lab.dask.worker_job_name`), where
SESSIONJOB is this server's own ``SLURM_JOB_ID``. Nothing else can be
cancelled here: another user's job, another session's workers and the
session's own job all answer 404.

Costs: one ``squeue --json --user USER`` serves every tab for
:attr:`WorkerJobs.cache_seconds`; concurrent requests share the query in
flight. A DELETE asks again (never acts on a cached list). Sessions that are
not Slurm jobs list no workers. The scheduler failing gives 503 with a message.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Float, List, Unicode
from traitlets.config import LoggingConfigurable

from ..dask import current_user, is_worker_job_name, worker_job_name
from ..scheduler.slurm import Job, SlurmParseError, parse_squeue_json
from .handlers import API_PREFIX, SDCCAPIHandler

ACTIVE_STATES = frozenset({"PENDING", "RUNNING", "SUSPENDED"})
_JOB_ID_RE = re.compile(r"^[0-9]{1,18}$")


class SchedulerUnavailable(RuntimeError):
    """squeue or scancel failed, timed out or printed what cannot be read."""


class WorkerJobs(LoggingConfigurable):
    """Finds and cancels this session's Dask worker jobs (Slurm)."""

    squeue_command = List(
        Unicode(),
        default_value=["squeue"],
        config=True,
        help="""The command that runs ``squeue`` (program and leading arguments).

        Example: ``c.WorkerJobs.squeue_command = ["/usr/bin/squeue"]``.
        """,
    )
    scancel_command = List(
        Unicode(),
        default_value=["scancel"],
        config=True,
        help="The command that runs ``scancel``, e.g. ``[\"/usr/bin/scancel\"]``.",
    )
    cache_seconds = Float(
        3.0,
        config=True,
        help="""Seconds one ``squeue`` answer serves every GET (all tabs share it).

        Example: ``c.WorkerJobs.cache_seconds = 10``.
        """,
    )
    timeout = Float(10.0, config=True, help="Seconds a squeue or scancel call may take.")

    def __init__(
        self,
        identity: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        user: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        env = os.environ if environ is None else environ
        scheduler = (identity or {}).get("scheduler")
        job_id = env.get("SLURM_JOB_ID", "").strip()
        self.user = user or current_user()
        # Only a Slurm session that is a job has worker jobs to show.
        self.session_job_id = job_id if scheduler == "slurm" and job_id else None
        self._jobs: list[Job] = []
        self._fetched_at: float | None = None
        self._inflight: asyncio.Future[list[Job]] | None = None
        self.squeue_calls = 0

    @property
    def job_name(self) -> str | None:
        if self.session_job_id is None:
            return None
        return worker_job_name(self.user, self.session_job_id)

    # -- running commands ------------------------------------------------------
    def _run(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Blocking: an argument list, never a shell."""
        try:
            return subprocess.run(
                list(argv), capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SchedulerUnavailable(f"{argv[0]} did not answer within {self.timeout:g} s") from None
        except OSError as e:
            raise SchedulerUnavailable(f"cannot run {argv[0]}: {e.strerror or e}") from None

    def _query(self) -> list[Job]:
        argv = [*self.squeue_command, "--json", "--user", self.user]
        self.squeue_calls += 1
        proc = self._run(argv)
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip().splitlines()
            raise SchedulerUnavailable(
                f"squeue exited with {proc.returncode}: {said[-1] if said else 'no message'}"
            )
        try:
            jobs = parse_squeue_json(json.loads(proc.stdout))
        except (ValueError, SlurmParseError) as e:
            raise SchedulerUnavailable(f"cannot read squeue's answer: {e}") from None
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

    # -- listing ---------------------------------------------------------------------
    async def jobs(self, fresh: bool = False) -> list[Job]:
        """The worker jobs: cached for ``cache_seconds``, one query in flight at a time."""
        if self.session_job_id is None:
            return []
        if self._inflight is None:
            young = (
                self._fetched_at is not None
                and time.monotonic() - self._fetched_at < self.cache_seconds
            )
            if young and not fresh:
                return list(self._jobs)
            loop = asyncio.get_running_loop()
            self._inflight = asyncio.ensure_future(loop.run_in_executor(None, self._query))
        fut = self._inflight
        try:
            jobs = await asyncio.shield(fut)
        finally:
            if fut.done() and self._inflight is fut:
                self._inflight = None
        self._jobs = jobs
        self._fetched_at = time.monotonic()
        return list(jobs)

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
        proc = await asyncio.get_running_loop().run_in_executor(None, self._run, argv)
        self._fetched_at = None  # the next GET asks again
        if proc.returncode != 0:
            said = " ".join((proc.stderr or proc.stdout).split())
            if "already completing or completed" in said or "Invalid job id" in said:
                self.log.info("sdcc_lab workers: %s", said)  # it ended meanwhile: nothing to do
                return
            raise SchedulerUnavailable(f"scancel exited with {proc.returncode}: {said or 'no message'}")


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

    async def _fresh(self) -> list[Job]:
        try:
            return await self.workers.jobs(fresh=True)
        except SchedulerUnavailable as e:
            raise web.HTTPError(503, f"Slurm did not answer: {e}") from None

    async def _cancel(self, job_ids: list[str]) -> None:
        try:
            await self.workers.cancel(job_ids)
        except SchedulerUnavailable as e:
            raise web.HTTPError(503, f"Slurm did not cancel: {e}") from None
        self.log.info("sdcc_lab workers: cancelled %s", ", ".join(job_ids) or "nothing")


class WorkersHandler(_WorkersBase):
    """The list of the session's worker jobs; DELETE cancels them all."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            jobs = await self.workers.jobs()
        except SchedulerUnavailable as e:
            raise web.HTTPError(503, f"Slurm did not answer: {e}") from None
        self.set_header("Cache-Control", "no-store")
        self.finish({"workers": [worker_json(job) for job in jobs]})

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        jobs = await self._fresh()
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
        jobs = await self._fresh()
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
    """The server's one WorkerJobs (configured as ``c.WorkerJobs.…``)."""
    return WorkerJobs(
        identity=server_app.web_app.settings.get("sdcc_lab_session"),
        parent=server_app,
        log=server_app.log,
    )
