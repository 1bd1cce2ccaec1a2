"""``sbatch --parsable`` output."""

from __future__ import annotations

import re

from .common import SlurmParseError, _short

# --------------------------------------------------------------------------- sbatch

_SBATCH_RE = re.compile(r"^(\d+)(?:;([A-Za-z0-9_.-]+))?$")


def parse_sbatch_parsable(text: str) -> str:
    """The job id printed by ``sbatch --parsable`` (``JOBID`` or ``JOBID;CLUSTER``)."""
    if not isinstance(text, str):
        raise SlurmParseError(f"sbatch output must be a string, not {type(text).__name__}")
    m = _SBATCH_RE.match(text.strip())
    if not m:
        raise SlurmParseError(f"sbatch --parsable printed no job id: {_short(text)}")
    return m.group(1)
