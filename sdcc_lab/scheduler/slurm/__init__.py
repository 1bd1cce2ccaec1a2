"""Parsers of Slurm command outputs (Slurm 21.08 to 25.11), one module per format.

Pure functions: each takes the text (or decoded JSON) a command printed and
returns frozen dataclasses. Nothing here runs a command (that is
:mod:`sdcc_lab.scheduler.commands`). Output that cannot be understood raises
:class:`SlurmParseError` (a :class:`~sdcc_lab.scheduler.errors.SchedulerUnparseable`)
with a message naming what was wrong; no ``IndexError``/``KeyError``/``TypeError``
leaks out.

- :mod:`.units`: durations, memory sizes, TRES/GRES lists -> :func:`parse_duration`,
  :func:`parse_memory`, :func:`parse_tres`, :func:`gpus_in_tres`
- :mod:`.scontrol`: ``scontrol show partition -o`` -> :func:`parse_partitions`;
  ``scontrol show job -o ID`` -> :func:`parse_scontrol_job`
- :mod:`.sacctmgr`: ``sacctmgr -nP show assoc|users withassoc|qos format=...`` ->
  :func:`parse_associations`, :func:`parse_qos`
- :mod:`.squeue_json`: ``squeue --json``, ``scontrol show job --json`` and slurmrestd
  ``/slurm/vX/job(s)`` (data_parser v0.0.37 to v0.0.44) -> :func:`parse_squeue_json`
- :mod:`.sbatch`: ``sbatch --parsable`` -> :func:`parse_sbatch_parsable`
- :mod:`.job`: the :class:`Job` both job formats give.

Every datetime returned is timezone-aware UTC.
"""

from __future__ import annotations

from .common import SlurmParseError
from .job import Job
from .sacctmgr import QOS, Association, parse_associations, parse_qos
from .sbatch import parse_sbatch_parsable
from .scontrol import (
    Partition,
    parse_partitions,
    parse_scontrol_job,
    parse_scontrol_jobs,
    parse_scontrol_oneline,
)
from .squeue_json import parse_squeue_json
from .units import gpus_in_tres, parse_duration, parse_memory, parse_tres

__all__ = [
    "QOS",
    "Association",
    "Job",
    "Partition",
    "SlurmParseError",
    "gpus_in_tres",
    "parse_associations",
    "parse_duration",
    "parse_memory",
    "parse_partitions",
    "parse_qos",
    "parse_sbatch_parsable",
    "parse_scontrol_job",
    "parse_scontrol_jobs",
    "parse_scontrol_oneline",
    "parse_squeue_json",
    "parse_tres",
]
