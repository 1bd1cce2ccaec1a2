"""One error hierarchy for everything that asks a batch system.

- :class:`SchedulerRefused`: the command ran and said no (non-zero exit); it
  carries the argument list, the exit status and what the command printed.
- :class:`SchedulerUnavailable`: no answer at all: the command cannot be run,
  did not finish in time, or says its controller/daemon cannot be reached.
- :class:`SchedulerUnparseable`: the command answered, but with text we cannot
  read. It is also a :class:`ValueError`, which the parsers raised before.

Callers catch :class:`SchedulerError` for "the scheduler did not give us an
answer", or one subclass when they act differently on it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


class SchedulerError(RuntimeError):
    """A scheduler command gave no usable answer.

    ``argv`` is the command (may be empty); ``output`` what it said, for the
    user (the command's own words where it printed some, else the message).
    """

    def __init__(
        self, message: str, *, argv: Sequence[str] = (), output: str | None = None
    ) -> None:
        self.argv = [str(a) for a in argv]
        self.output = (message if output is None else output).strip()
        super().__init__(message)

    @property
    def program(self) -> str:
        """The command's name (``sbatch``), for messages."""
        return os.path.basename(self.argv[0]) if self.argv else "the scheduler"


class SchedulerRefused(SchedulerError):
    """The command ran and failed; ``output`` is what it printed (stderr, else stdout)."""

    def __init__(self, argv: Sequence[str], returncode: int, output: str) -> None:
        self.returncode = returncode
        said = output.strip()
        super().__init__(
            f"{os.path.basename(str(argv[0])) if argv else 'command'} failed ({returncode}): {said}",
            argv=argv,
            output=said,
        )


class SchedulerUnavailable(SchedulerError):
    """The scheduler could not be asked: cannot run the command, timeout, controller down.

    ``returncode``/``output`` are set when the command ran and said its
    controller cannot be reached; ``None``/the reason otherwise.
    """

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] = (),
        returncode: int | None = None,
        output: str | None = None,
    ) -> None:
        self.returncode = returncode
        super().__init__(message, argv=argv, output=output)


class SchedulerUnparseable(SchedulerError, ValueError):
    """The scheduler answered with text we cannot read (a parser's error)."""

    def __init__(self, message: str, *, argv: Sequence[str] = ()) -> None:
        super().__init__(message, argv=argv)


__all__ = ["SchedulerError", "SchedulerRefused", "SchedulerUnavailable", "SchedulerUnparseable"]
