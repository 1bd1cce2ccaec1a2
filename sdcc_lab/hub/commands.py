"""Run scheduler commands from the hub: argument lists only, never a shell.

Every command the hub runs (``sbatch``, ``squeue``, ``sacctmgr``, ``condor_q``…)
goes through :func:`run_command`, which never blocks the hub's event loop,
kills the command on timeout, and raises typed errors that carry what the
scheduler said. Commands run *as a user* go through :func:`run_as_user`: the
user owns that process and can read its environment (``/proc/PID/environ``),
so it gets a minimal environment of its own, never the hub's (which may hold
``JUPYTERHUB_CRYPT_KEY``, ``CONFIGPROXY_AUTH_TOKEN`` or a database password).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A system user name we are willing to put in an argument list.
USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
# The environment every command run as a user starts from; nothing else of the hub's.
USER_COMMAND_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class CommandError(RuntimeError):
    """A command failed; ``output`` is what it printed on stderr (or stdout)."""

    def __init__(self, argv: Sequence[str], returncode: int | None, output: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output.strip()
        super().__init__(f"{os.path.basename(argv[0])} failed ({returncode}): {self.output}")


class CommandTimeout(CommandError):
    """A command did not finish in time and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float) -> None:
        super().__init__(argv, None, f"no answer within {timeout:g} s")


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str


def user_prefix(template: Sequence[str], username: str) -> list[str]:
    """Expand ``{username}`` in a command prefix such as ``runuser -u {username} --``."""
    if not USERNAME_RE.match(username):
        raise ValueError(f"user name {username!r} cannot be passed to a system command")
    return [part.replace("{username}", username) for part in template]


def user_command_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a command run as a user: PATH, LANG and ``extra``."""
    return {**USER_COMMAND_BASE_ENV, **(extra or {})}


async def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    cwd: str | None = None,
) -> CommandResult:
    """Run ``argv`` (no shell) and return its output; raise on failure or timeout."""
    argv = [str(a) for a in argv]
    log.debug("running %s", argv)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if input_text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except OSError as e:
        raise CommandError(argv, None, f"cannot run: {e.strerror or e}") from e
    try:
        out, err = await asyncio.wait_for(
            proc.communicate(input_text.encode() if input_text is not None else None), timeout
        )
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise CommandTimeout(argv, timeout) from None
    except asyncio.CancelledError:
        proc.kill()
        raise
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, stderr or stdout)
    return CommandResult(stdout, stderr)


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
