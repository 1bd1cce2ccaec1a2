"""HTCondor sessions: the single-user server as an HTCondor job.

The submit description is built from validated options and admin settings
only; every value goes through HTCondor's own quoting rules for ``arguments``
and ``environment``. Submitted with ``condor_submit -terse`` (description on
standard input), followed with ``condor_q -long``, removed with ``condor_rm``.

No HTCondor pool runs in this project's tests (no daemons can be installed
here): the description is checked with the ``htcondor2`` bindings and the
command flow against recorded outputs of real pools.

The description holds no secret: every user can read a job ad's
``Environment`` (``condor_q -allusers -af Environment``). The server's API
token waits in the user's token file (see :mod:`sdcc_lab.hub.batch`), which
the job reads at the same path: this assumes the hub's and the execute
nodes share the user's home (or wherever ``token_dir_template`` points), as
the job's ``initialdir`` and log files already do; nothing is transferred.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from traitlets import Integer, Unicode

from ..scheduler.commands import run_command
from ..scheduler.ends import JobEnd, condor_job_end
from ..scheduler.errors import SchedulerUnparseable
from ..scheduler.htcondor import (
    HTCondorParseError,
    job_from_ad,
    parse_classads,
    parse_condor_submit_output,
)
from ..scheduler.reasons import condor_hold_reason, condor_idle_reason
from .batch import BatchSessionSpawner, JobStatus


def condor_quote_args(args: Sequence[str]) -> str:
    """HTCondor's "new syntax" for ``arguments``: one double-quoted string, each
    argument in single quotes, quotes doubled."""
    if any("\n" in a or "\r" in a for a in args):
        # The shell text goes to bash -c as one argument; the description must stay one line.
        raise ValueError("an argument holds a line break")
    parts = ["'" + a.replace("'", "''").replace('"', '""') + "'" for a in args]
    return '"' + " ".join(parts) + '"'


def condor_quote_environment(env: Mapping[str, str]) -> str:
    """HTCondor's "new syntax" for ``environment``: ``"NAME='value' …"``."""
    for name, value in env.items():
        if not name.replace("_", "a").isalnum():
            raise ValueError(f"environment variable name {name!r} cannot be passed to HTCondor")
        if "\n" in value or "\r" in value:
            # A submit description is line-based: a newline would start a new command.
            raise ValueError(f"environment variable {name} holds a line break")
    parts = [
        f"{name}='" + value.replace("'", "''").replace('"', '""') + "'"
        for name, value in sorted(env.items())
    ]
    return '"' + " ".join(parts) + '"'


STATUS = {
    "IDLE": "pending",
    "RUNNING": "running",
    "TRANSFERRING_OUTPUT": "running",
    "SUSPENDED": "pending",
}


class HTCondorSessionSpawner(BatchSessionSpawner):
    """Submit with ``condor_submit``, follow with ``condor_q``, stop with ``condor_rm``."""

    session_scheduler = "htcondor"

    condor_submit = Unicode(
        "/usr/bin/condor_submit",
        help="""Full path of condor_submit (submits the session's job, run as the user).

        c.HTCondorSessionSpawner.condor_submit = "/opt/condor/bin/condor_submit"
        """,
    ).tag(config=True)
    condor_q = Unicode(
        "/usr/bin/condor_q",
        help="""Full path of condor_q (follows the job, run as the hub).

        c.HTCondorSessionSpawner.condor_q = "/opt/condor/bin/condor_q"
        """,
    ).tag(config=True)
    condor_history = Unicode(
        "/usr/bin/condor_history",
        help="""Full path of condor_history (how an ended session's job ended: exit code,
        hold or remove reason, peak memory; run as the hub, once per ended session).

        c.HTCondorSessionSpawner.condor_history = "/opt/condor/bin/condor_history"
        """,
    ).tag(config=True)
    condor_rm = Unicode(
        "/usr/bin/condor_rm",
        help="""Full path of condor_rm (removes the job, run as the user).

        c.HTCondorSessionSpawner.condor_rm = "/opt/condor/bin/condor_rm"
        """,
    ).tag(config=True)
    request_cpus = Integer(
        1,
        help="""CPUs (cores) each HTCondor session requests.

        c.HTCondorSessionSpawner.request_cpus = 2
        """,
    ).tag(config=True)
    request_memory_mb = Integer(
        4096,
        help="""Memory in MiB each HTCondor session requests.

        c.HTCondorSessionSpawner.request_memory_mb = 8192
        """,
    ).tag(config=True)

    def submit_description(self, options: dict[str, Any], log_dir: str) -> str:
        # The description is line-based and the script is not: it travels base64-encoded.
        script = base64.b64encode(self.server_command().encode()).decode()
        argv = ["/bin/bash", "-c", f'eval "$(echo {script} | /usr/bin/base64 -d)"']
        lines = {
            "universe": "vanilla",
            "executable": argv[0],
            "arguments": condor_quote_args(argv[1:]),
            "environment": condor_quote_environment(self.job_environment()),
            "getenv": "false",
            "initialdir": self.unix_user.pw_dir,
            "output": f"{log_dir}/jupyter-$(Cluster).log",
            "error": f"{log_dir}/jupyter-$(Cluster).log",
            "log": f"{log_dir}/jupyter-$(Cluster).events",
            "request_cpus": str(self.request_cpus),
            "request_memory": str(self.request_memory_mb),
            "allowed_job_duration": str(int(options["runtime"]) * 60),
            "+JobBatchName": f'"jupyter-{self.user.name}"',
            "+SDCCLabSession": "true",
        }
        if options.get("gpu") not in (None, "none") and int(options.get("gpus") or 0) > 0:
            lines["request_gpus"] = str(int(options["gpus"]))
        return "".join(f"{k} = {v}\n" for k, v in lines.items()) + "queue 1\n"

    async def submit_job(self, options: dict[str, Any]) -> str:
        log_dir = await self.ensure_log_dir()
        await self.ensure_token_file()
        return await self.submit_as_user(
            [self.condor_submit, "-terse"],
            self.submit_description(options, log_dir),
            parse_condor_submit_output,
            scheduler="HTCondor",
        )

    async def job_status(self) -> JobStatus:
        result = await run_command(
            [self.condor_q, "-long", self.job_id], timeout=self.command_timeout, env={"LANG": "C"}
        )
        try:
            ads = parse_classads(result.stdout)
        except HTCondorParseError as e:
            raise SchedulerUnparseable(
                f"unreadable condor_q output: {e}", argv=[self.condor_q]
            ) from e
        if not ads:
            return JobStatus("gone", "the job left the queue")
        job = job_from_ad(ads[0])
        if job.status == "HELD":
            # A held job does not start by itself: end the spawn with HTCondor's reason.
            return JobStatus("gone", condor_hold_reason(job.hold_reason).words)
        state = STATUS.get(job.status)
        if state is None:
            return JobStatus("gone", job.status.lower())
        host = (job.remote_host or "").rpartition("@")[2] or None
        if state == "pending":
            # HTCondor gives no expected start; the negotiator's last answer is the reason.
            return JobStatus(
                state,
                job.status.lower(),
                host,
                reason=condor_idle_reason(job.last_rej_match_reason),
            )
        return JobStatus(state, job.status.lower(), host)

    async def job_end(self) -> JobEnd | None:
        """The job's ad: still in the queue if it is held, else in the history."""
        job_id = self.job_id
        for argv in (
            [self.condor_q, "-long", job_id],
            [self.condor_history, "-long", "-limit", "1", job_id],
        ):
            result = await run_command(argv, timeout=self.command_timeout, env={"LANG": "C"})
            ads = parse_classads(result.stdout)
            if ads:
                return condor_job_end(ads[0])
        return None

    def cancel_argv(self, job_id: str) -> list[str]:
        return [self.condor_rm, job_id]

    async def cancel_job(self) -> None:
        await self.as_user(self.cancel_argv(self.job_id))
