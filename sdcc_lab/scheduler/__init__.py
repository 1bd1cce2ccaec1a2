"""Parsers of batch-system command outputs (Slurm and HTCondor).

- ``sdcc_lab.scheduler.slurm``: sacctmgr, scontrol, squeue/slurmrestd JSON, sbatch.
- ``sdcc_lab.scheduler.htcondor``: ClassAds, job ads, condor_submit.

Pure Python without dependencies: callers run the commands and pass the text in.
"""

from __future__ import annotations

from .htcondor import HTCondorParseError
from .slurm import SlurmParseError

__all__ = ["HTCondorParseError", "SlurmParseError"]
