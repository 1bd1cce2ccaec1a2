"""The scheduler-command layer: run batch-system commands, read their answers.

- :mod:`.commands`: run a command (async or blocking), argument lists only,
  timeout = kill; commands run as a user get a minimal environment.
- :mod:`.errors`: one hierarchy, :class:`SchedulerError` and its three kinds
  (refused, unavailable, unparseable).
- :mod:`.cache`: one TTL single-flight cache of answers.
- :mod:`.slurm`, :mod:`.htcondor`: pure parsers of the outputs (text in,
  frozen dataclasses out; :class:`SchedulerUnparseable` on what they cannot read).
"""

from __future__ import annotations

from .errors import SchedulerError, SchedulerRefused, SchedulerUnavailable, SchedulerUnparseable
from .htcondor import HTCondorParseError
from .slurm import SlurmParseError

__all__ = [
    "HTCondorParseError",
    "SchedulerError",
    "SchedulerRefused",
    "SchedulerUnavailable",
    "SchedulerUnparseable",
    "SlurmParseError",
]
