"""Run scheduler commands: argument lists only, never a shell; timeout means kill.

Everything in the project that runs ``sbatch``, ``squeue``, ``scontrol``,
``sacctmgr``, ``scancel``, ``condor_q``… goes through :func:`run_command`
(async: never blocks an event loop) or :func:`run_command_blocking` (for
code that is already in a thread or outside any loop, such as a kernel).
Both kill the command when it runs past ``timeout`` and raise the errors of
:mod:`sdcc_lab.scheduler.errors`:

- it cannot be started, or timed out, or said its controller is down:
  :class:`~sdcc_lab.scheduler.errors.SchedulerUnavailable`;
- it exited non-zero: :class:`~sdcc_lab.scheduler.errors.SchedulerRefused`.

Commands run *as a user* go through :func:`run_as_user`: the user owns that
process and can read its environment (``/proc/PID/environ``), so it gets a
minimal environment of its own (PATH, LANG and what the caller passes),
never the caller's (the hub's may hold ``JUPYTERHUB_CRYPT_KEY``,
``CONFIGPROXY_AUTH_TOKEN`` or a database password).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import SchedulerRefused, SchedulerUnavailable

log = logging.getLogger(__name__)

# A system user name we are willing to put in an argument list.
USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
# The environment every command run as a user starts from; nothing else of the caller's.
USER_COMMAND_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}

# What Slurm and HTCondor clients print when their controller/daemon does not
# answer: the command ran, but the scheduler was not there to say yes or no.
UNAVAILABLE_MARKERS = (
    "Unable to contact slurm controller",
    "Socket timed out on send/recv",
    "Problem talking to the database",
    "Failed to connect to",
    "Can't find address of",
    "Couldn't contact the condor_schedd",
)


@dataclass(frozen=True)
class CommandResult:
    """What a successful command printed."""

    stdout: str
    stderr: str


def _failure(
    argv: list[str], returncode: int, stdout: str, stderr: str
) -> SchedulerRefused | SchedulerUnavailable:
    said = (stderr or stdout).strip()
    if any(marker in said for marker in UNAVAILABLE_MARKERS):
        name = os.path.basename(argv[0])
        return SchedulerUnavailable(
            f"{name} cannot reach the scheduler ({returncode}): {said}",
            argv=argv,
            returncode=returncode,
            output=said,
        )
    return SchedulerRefused(argv, returncode, said)


def _timed_out(argv: list[str], timeout: float) -> SchedulerUnavailable:
    return SchedulerUnavailable(
        f"{os.path.basename(argv[0])} did not answer within {timeout:g} s", argv=argv
    )


def _cannot_run(argv: list[str], e: OSError) -> SchedulerUnavailable:
    return SchedulerUnavailable(
        f"cannot run {os.path.basename(argv[0])}: {e.strerror or e}", argv=argv
    )


async def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    cwd: str | None = None,
) -> CommandResult:
    """Run ``argv`` (no shell) and return its output; raise on failure or timeout.

    ``env`` is the command's whole environment (``None``: the caller's);
    ``input_text`` goes to its standard input (otherwise ``/dev/null``).
    """
    args = [str(a) for a in argv]
    log.debug("running %s", args)
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE if input_text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except OSError as e:
        raise _cannot_run(args, e) from e
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(input_text.encode() if input_text is not None else None), timeout
        )
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise _timed_out(args, timeout) from None
    except asyncio.CancelledError:
        proc.kill()
        raise
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if proc.returncode != 0:
        raise _failure(args, proc.returncode or 0, stdout, stderr)
    return CommandResult(stdout, stderr)


def run_command_blocking(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    cwd: str | None = None,
) -> CommandResult:
    """:func:`run_command` for callers in a thread or without an event loop."""
    args = [str(a) for a in argv]
    log.debug("running %s", args)
    try:
        proc = subprocess.run(  # subprocess.run kills the child on timeout
            args,
            input=input_text,
            stdin=None if input_text is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _timed_out(args, timeout) from None
    except OSError as e:
        raise _cannot_run(args, e) from e
    if proc.returncode != 0:
        raise _failure(args, proc.returncode, proc.stdout, proc.stderr)
    return CommandResult(proc.stdout, proc.stderr)


def user_prefix(template: Sequence[str], username: str) -> list[str]:
    """Expand ``{username}`` in a command prefix such as ``runuser -u {username} --``."""
    if not USERNAME_RE.match(username):
        raise ValueError(f"user name {username!r} cannot be passed to a system command")
    return [part.replace("{username}", username) for part in template]


def user_command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a command run as a user: PATH, LANG and ``extra``."""
    return {**USER_COMMAND_BASE_ENV, **(extra or {})}


async def run_as_user(
    prefix_template: Sequence[str],
    username: str,
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    cwd: str | None = None,
) -> CommandResult:
    """Run ``argv`` as ``username`` behind the prefix, with :func:`user_command_env` only.

    ``env`` is what the command needs (the job's variables for a submit
    command); it is the only thing added to PATH and LANG. (No umask of our own:
    sbatch hands its umask to the job, where the user's files are made.)
    """
    return await run_command(
        [*user_prefix(prefix_template, username), *argv],
        timeout=timeout,
        env=user_command_env(env),
        input_text=input_text,
        cwd=cwd,
    )


__all__ = [
    "USERNAME_RE",
    "USER_COMMAND_BASE_ENV",
    "CommandResult",
    "run_as_user",
    "run_command",
    "run_command_blocking",
    "user_command_env",
    "user_prefix",
]
