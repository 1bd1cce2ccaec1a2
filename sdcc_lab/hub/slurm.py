"""Slurm sessions: the single-user server as a Slurm job."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from traitlets import Bool, List, Unicode

from ..scheduler.commands import run_as_user, run_command
from ..scheduler.ends import JobEnd, slurm_job_end
from ..scheduler.errors import SchedulerUnparseable
from ..scheduler.reasons import slurm_reason
from ..scheduler.slurm import parse_sbatch_parsable, parse_squeue_json
from ..scheduler.slurm.sacct import SACCT_FIELDS, parse_sacct
from .batch import BatchSessionError, BatchSessionSpawner, JobStatus
from .options import NAME_RE

PENDING_STATES = {"PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"}
RUNNING_STATES = {"RUNNING", "COMPLETING"}

BATCH_SCRIPT = """#!/bin/bash
# JupyterLab session of the sdcc_lab portal.
{setup}
"""
# The script of a test submission: options are arguments, so the script changes nothing.
TEST_SCRIPT = "#!/bin/bash\ntrue\n"


class SlurmSessionSpawner(BatchSessionSpawner):
    """Submit with ``sbatch --parsable``, follow with ``squeue --json``, stop with ``scancel``.

    Every scheduler option goes to sbatch as its own argument (never into the
    script text), after the form spawner validated it against what the user
    may use.
    """

    session_scheduler = "slurm"

    sbatch = Unicode(
        "/usr/bin/sbatch",
        help="""Full path of sbatch (submits the session's job, run as the user).

        c.SlurmSessionSpawner.sbatch = "/opt/slurm/bin/sbatch"
        """,
    ).tag(config=True)
    squeue = Unicode(
        "/usr/bin/squeue",
        help="""Full path of squeue (follows the job, run as the hub).

        c.SlurmSessionSpawner.squeue = "/opt/slurm/bin/squeue"
        """,
    ).tag(config=True)
    sacct = Unicode(
        "/usr/bin/sacct",
        help="""Full path of sacct (how an ended session's job ended: its state, exit code,
        peak memory; run as the hub, once per ended session).

        c.SlurmSessionSpawner.sacct = "/opt/slurm/bin/sacct"
        """,
    ).tag(config=True)
    scancel = Unicode(
        "/usr/bin/scancel",
        help="""Full path of scancel (cancels the job, run as the user).

        c.SlurmSessionSpawner.scancel = "/opt/slurm/bin/scancel"
        """,
    ).tag(config=True)

    extra_sbatch_args = List(
        Unicode(),
        help="""Site arguments added to every sbatch (admin-written: never built from user input).

        c.SlurmSessionSpawner.extra_sbatch_args = ["--mem-per-cpu=4G", "--cpus-per-task=2"]
        """,
    ).tag(config=True)

    gpu_gres_name = Unicode(
        "gpu",
        help="""GRES name of GPUs in ``--gres=NAME[:type]:N``.

        c.SlurmSessionSpawner.gpu_gres_name = "nvgpu"
        """,
    ).tag(config=True)

    export_environment = Bool(
        True,
        help="""Pass the server's variables (hub URL, session identity, the token file's path)
        to the job by name (``--export=NAME,…``: those and Slurm's own, nothing else of
        sbatch's environment). Secrets are never among them: the API token reaches the job
        through its token file. False: ``--export=NONE``, and the site's environment setup
        must provide them.

        c.SlurmSessionSpawner.export_environment = False
        """,
    ).tag(config=True)

    def sbatch_args(
        self, options: dict[str, Any], log_dir: str, export: Iterable[str] = ()
    ) -> list[str]:
        """Every argument of the session's sbatch (the real one and the test submission)."""
        names = sorted(export)
        args = [
            "--parsable",
            f"--job-name=jupyter-{self.user.name}",
            f"--time={int(options['runtime'])}",
            f"--output={log_dir}/jupyter-%j.log",
            f"--chdir={self.unix_user.pw_dir}",
            # A session whose node fails ends (NODE_FAIL, said at the next visit); requeued
            # under the same id it would restart a server the hub no longer waits for.
            "--no-requeue",
            # Never ALL: slurmctld keeps the job's environment in its state files.
            f"--export={','.join(names)}" if self.export_environment and names else "--export=NONE",
        ]
        if options.get("cpus"):
            args.append(f"--cpus-per-task={int(options['cpus'])}")
        if options.get("memory"):
            args.append(f"--mem={int(options['memory'])}M")
        for key in ("partition", "account", "qos"):
            value = options.get(key)
            if value:
                # Validated already; checked again here because it becomes an argument.
                if not NAME_RE.match(str(value)):
                    raise BatchSessionError(f"{key} {value!r} is not a valid Slurm name")
                args.append(f"--{key}={value}")
        gpu, gpus = options.get("gpu") or "none", int(options.get("gpus") or 0)
        if gpu != "none" and gpus > 0:
            if gpu != "any" and not NAME_RE.match(gpu):
                raise BatchSessionError(f"GPU type {gpu!r} is not valid")
            kind = self.gpu_gres_name if gpu == "any" else f"{self.gpu_gres_name}:{gpu}"
            args.append(f"--gres={kind}:{gpus}")
        return [*args, *self.extra_sbatch_args]

    def batch_script(self) -> str:
        return BATCH_SCRIPT.format(setup=self.server_command())

    async def submit_job(self, options: dict[str, Any]) -> str:
        log_dir = await self.ensure_log_dir()
        await self.ensure_token_file()
        env = self.job_environment()
        return await self.submit_as_user(
            [self.sbatch, *self.sbatch_args(options, log_dir, env)],
            self.batch_script(),
            parse_sbatch_parsable,
            scheduler="Slurm",
            env=env,
        )

    async def test_only(self, options: dict[str, Any]) -> str:
        """``sbatch --test-only`` as the user, with the real submission's arguments.

        Nothing is queued. The job's variables are left out (``--export=NONE``: they
        do not change when or where it would start). Slurm prints the answer on
        stderr; the time as seconds since the epoch (``SLURM_TIME_FORMAT=%s``), so
        no time zone is guessed. Returns both streams joined; raises SchedulerError.
        """
        argv = [self.sbatch, "--test-only", *self.sbatch_args(options, self.log_dir())]
        result = await run_as_user(
            self.exec_prefix,
            self.user.name,
            argv,
            timeout=self.command_timeout,
            env={**self.command_environment, "SLURM_TIME_FORMAT": "%s"},
            input_text=TEST_SCRIPT,
            cwd=self.unix_user.pw_dir,
        )
        return f"{result.stderr}\n{result.stdout}"

    async def job_status(self) -> JobStatus:
        job_id = self.job_id  # the job asked about, even if replaced meanwhile
        result = await run_command(
            [self.squeue, "--json", "--jobs", job_id],
            timeout=self.command_timeout,
            env={"LANG": "C"},
        )
        try:
            jobs = parse_squeue_json(json.loads(result.stdout))
        except ValueError as e:  # not JSON, or JSON that is not squeue's (SlurmParseError)
            raise SchedulerUnparseable(f"unreadable squeue output: {e}", argv=[self.squeue]) from e
        job = next((j for j in jobs if j.job_id == job_id), None)
        if job is None:
            return JobStatus("gone", "the job is no longer known to Slurm")
        if job.state in PENDING_STATES:
            # Slurm's start_time of a pending job is its expected start (None: not estimated).
            return JobStatus(
                "pending",
                job.reason or job.state.lower(),
                # No reason yet (Slurm's "None"): queued, not yet looked at.
                reason=slurm_reason(job.reason or "None"),
                start=job.start_time,
            )
        if job.state in RUNNING_STATES:
            return JobStatus("running", None, job.batch_host or job.nodes)
        detail = job.state + (f": {job.reason}" if job.reason else "")
        return JobStatus("gone", detail)

    async def job_end(self) -> JobEnd | None:
        """Slurm's accounting of the job: its final state, exit code and steps' MaxRSS."""
        job_id = self.job_id
        result = await run_command(
            [self.sacct, "-nP", "-j", job_id, f"--format={','.join(SACCT_FIELDS)}"],
            timeout=self.command_timeout,
            # Epoch seconds: no time zone to guess.
            env={"LANG": "C", "SLURM_TIME_FORMAT": "%s"},
        )
        rows = parse_sacct(result.stdout)
        if not any(r.job_id == job_id and r.step is None for r in rows):
            return None  # accounting off, or not written yet: the status query's words stay
        return slurm_job_end(rows, job_id)

    def cancel_argv(self, job_id: str) -> list[str]:
        return [self.scancel, job_id]

    async def cancel_job(self) -> None:
        await self.as_user(self.cancel_argv(self.job_id))
