"""Why a job waits, in plain words: Slurm's reason codes and HTCondor's hold/idle reasons.

One table for every page that shows a wait (the spawn progress page, its
events and ``GET /hub/api/sdcc-lab/pending``). Slurm's codes are those of
``job_reason_string()`` (``squeue``'s ``%r``, ``state_reason`` in its JSON,
``Reason=`` of ``scontrol show job``), 21.08 to 25.11. The limit codes come in
families (``QOSMaxCpuPerUserLimit``, ``AssocGrpMemRunMinutes``…): they are read
by their prefix and the resource they name. A code the table does not know is
shown as it is, never hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Code -> plain words. Keep each line one sentence a user can act on.
SLURM_REASONS: dict[str, str] = {
    "Priority": "Other jobs with a higher priority are ahead of yours in the queue.",
    "Resources": "The nodes are busy: your job starts as soon as enough of them are free.",
    "Dependency": "Your job waits for another job it depends on to finish.",
    "DependencyNeverSatisfied": "Your job depends on a job that failed: it will never start.",
    "BeginTime": "Your job was asked to start no earlier than a later time.",
    "JobHeldUser": "Your job is on hold (held by you): it starts only once it is released.",
    "JobHeldAdmin": "An administrator put your job on hold: it starts only once they release it.",
    "Reservation": "Your job waits for its reservation to begin.",
    "ReqNodeNotAvail": (
        "The nodes your job needs are not available (down, drained, or reserved, e.g. for "
        "maintenance)."
    ),
    "PartitionDown": "The partition is down: no job starts on it until it is up again.",
    "PartitionInactive": "The partition is inactive: no job starts on it.",
    "PartitionNodeLimit": "Your job asks for more nodes than the partition allows.",
    "PartitionTimeLimit": "Your job's runtime is longer than the partition allows.",
    "PartitionConfig": "Your job does not fit the partition's configuration.",
    "NodeDown": "A node your job needs is down.",
    "BadConstraints": "No node matches what your job asks for.",
    "Licenses": "Your job waits for a software license to be free.",
    "InvalidAccount": "Your account is not valid for this job: it will not start.",
    "InvalidQOS": "Your QOS is not valid for this job: it will not start.",
    "AccountNotAllowed": "Your account may not use this partition.",
    "QOSNotAllowed": "This QOS may not be used on this partition.",
    "QOSUsageThreshold": "Your QOS has used up its share for now.",
    "JobArrayTaskLimit": "Your job array already runs as many tasks as it may.",
    "SchedDefer": "The scheduler defers new jobs for a moment.",
    "Cleaning": "Slurm is still cleaning up after an earlier run of this job.",
    "Prolog": "The node is running its start-up script (prolog) for your job.",
    "BurstBufferResources": "Your job waits for burst-buffer storage.",
    "FrontEndDown": "The front-end node is down.",
    "SystemFailure": "A failure in Slurm stops the job from starting.",
    "DeadLine": "Your job cannot finish before its deadline.",
    "None": "Your job is queued and will be considered at the next scheduling pass.",
}

# Resource names inside the limit families (QOSMaxCpuPerUserLimit -> "CPUs").
_RESOURCES = (
    ("GRES", "GPUs or other generic resources"),
    ("Billing", "billing units"),
    ("Cpu", "CPUs"),
    ("Mem", "memory"),
    ("Node", "nodes"),
    ("Energy", "energy"),
    ("Wall", "runtime"),
    ("Job", "jobs"),
    ("SubmitJob", "submitted jobs"),
    ("License", "licenses"),
    ("Time", "runtime"),
)
_FAMILY_RE = re.compile(r"^(QOS|Assoc(?:iation)?)(Grp|Max|Min)?(\w*?)(Limit|Minutes|RunMinutes)?$")


@dataclass(frozen=True)
class WaitReason:
    """A scheduler's reason and its plain words (``words`` is ``code`` when unknown)."""

    code: str
    words: str
    known: bool


def _family_words(code: str) -> str | None:
    match = _FAMILY_RE.match(code)
    if match is None or not (match.group(4) or match.group(2)):
        return None
    owner = "your QOS" if match.group(1) == "QOS" else "your account (association)"
    scope, rest, tail = match.group(2) or "", match.group(3) or "", match.group(4) or ""
    resource = next(
        (words for name, words in _RESOURCES if rest.lower().startswith(name.lower())),
        "resources",
    )
    if tail.endswith("Minutes") or "Minutes" in rest:
        resource = f"{resource} over time (usage minutes)"
    if scope == "Min":
        return f"Your job asks for fewer {resource} than {owner} requires."
    if scope == "Grp" or "PerUser" in rest or "PerAccount" in rest or tail.endswith("Minutes"):
        return (
            f"A limit of {owner} on {resource} is reached by jobs already running: "
            "yours starts when some of them end."
        )
    return f"Your job waits for a limit of {owner} on {resource}."


def slurm_reason(reason: str | None) -> WaitReason | None:
    """The plain words for Slurm's reason (``None`` when Slurm gives none).

    The text may carry details after the code (``ReqNodeNotAvail, UnavailableNodes:n1``,
    ``ReqNodeNotAvail, Reserved for maintenance``): the code is its first word and
    the details are kept after the words.
    """
    if reason is None or not reason.strip():
        return None
    text = reason.strip()
    code, _, detail = text.partition(",")
    code = code.strip().strip("()")
    words = SLURM_REASONS.get(code) or _family_words(code)
    if words is None and text.startswith("Nodes required for job are DOWN"):
        # Slurm's long form of ReqNodeNotAvail (squeue's reason column, 20.11+).
        code, words, detail = "ReqNodeNotAvail", SLURM_REASONS["ReqNodeNotAvail"], ""
    if words is None:
        return WaitReason(code=text, words=text, known=False)
    detail = detail.strip()
    if detail and "maintenance" in detail.lower():
        words = "The nodes your job needs are reserved for a maintenance window."
    if detail:
        words = f"{words} ({detail})"
    return WaitReason(code=code, words=words, known=True)


# HTCondor: the schedd's matchmaking answer of an idle job (LastRejMatchReason), and holds.
CONDOR_IDLE_REASONS: dict[str, str] = {
    "no match found": "No machine in the pool currently matches what your job asks for.",
    "insufficient priority": "Other users' jobs with a higher priority are ahead of yours.",
    "PREEMPTION_REQUIREMENTS == False": "The machines are busy and may not be taken from others.",
}


def condor_idle_reason(last_rej_match_reason: str | None) -> WaitReason | None:
    """Plain words for an idle HTCondor job's ``LastRejMatchReason`` (None: none given)."""
    if last_rej_match_reason is None or not last_rej_match_reason.strip():
        return None
    text = last_rej_match_reason.strip()
    words = CONDOR_IDLE_REASONS.get(text)
    if words is None:
        return WaitReason(code=text, words=text, known=False)
    return WaitReason(code=text, words=words, known=True)


def condor_hold_reason(hold_reason: str | None) -> WaitReason:
    """Plain words for a held HTCondor job (``HoldReason`` kept as the detail)."""
    detail = (hold_reason or "").strip()
    words = "Your job is on hold: it starts only once it is released"
    return WaitReason(
        code="held",
        words=f"{words} ({detail})." if detail else f"{words}.",
        known=True,
    )
