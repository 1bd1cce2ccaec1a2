"""The display names users read: one table, ``labels.json``, for Python and TypeScript.

The share service's pages, the spawn form, the spawner's progress messages
and the JupyterLab extension (``src/labels.ts``, which imports the same JSON
file) name schedulers and session options with these words, so a session
reads the same on the hub, in the panel, the "About" dialog and a shared link.

The rules of a shown option (``src/labels.ts`` applies the same ones):

- a value that says "nothing" is left out: ``None``, ``""``, a boolean (an
  internal switch such as ``local``: the scheduler's name already says it), and
  the values an entry lists under ``hide`` (``gpu: "none"``, ``gpus: 0``);
- an entry's ``value`` gives the unit (``"%1 min"``: "Runtime: 60 min");
- a key the table does not know is shown as itself (a site's own option).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, TypedDict


class _Option(TypedDict):
    key: str
    #: what the value is, shown before it: "Runtime"
    label: str


class OptionLabel(_Option, total=False):
    #: the spawn form's field label, when it differs (it names the unit): "Runtime (min)"
    field: str
    #: the value with its unit, ``%1`` the value: "%1 min"
    value: str
    #: values that mean "none" and are not shown
    hide: list[Any]


class MismatchWords(TypedDict):
    #: ``%1`` the label, ``%2`` the link's value, ``%3`` the session's
    differs: str
    #: ``%1`` the kernel label, ``%2`` the kernel's name
    kernel: str


class EndsWords(TypedDict):
    """How a batch session ended, said at the next visit (``sdcc_lab.hub.ends``)."""

    title: str
    #: ``%1`` where ("gpu (tier3, 30 min)"), ``%2`` when ("11:28 UTC"), ``%3`` why (``kinds``)
    message: str
    unknownTime: str
    kinds: dict[str, str]
    startAgain: str
    chooseOther: str
    dismiss: str
    #: ``%1`` the memory now set (MiB), ``%2`` the last session's, ``%3`` the user's limit (MiB)
    moreMemory: str
    #: the same where no limit is known: ``%1`` the memory now set, ``%2`` the last session's
    moreMemoryNoLimit: str
    #: ``%1`` the partition
    noMoreMemory: str


class Labels(TypedDict):
    schedulers: dict[str, str]
    jobs: dict[str, str]
    unknownScheduler: str
    where: str
    kernel: str
    none: str
    options: list[OptionLabel]
    hiddenOptions: list[str]
    mismatch: MismatchWords
    ends: EndsWords


@cache
def labels() -> Labels:
    """The table, read once from the package (the wheel ships it)."""
    text = resources.files("sdcc_lab").joinpath("labels.json").read_text(encoding="utf-8")
    table: Labels = json.loads(text)
    return table


def fill(template: str, *values: object) -> str:
    """``%1``, ``%2``… of a table entry replaced by ``values`` (the translator's placeholders)."""
    text = template
    for n in range(len(values), 0, -1):  # %10 before %1
        text = text.replace(f"%{n}", str(values[n - 1]))
    return text


def scheduler_name(scheduler: object) -> str:
    """The words for a session's scheduler; an unknown value as itself, none as "Unknown"."""
    if scheduler is None or scheduler == "":
        return labels()["unknownScheduler"]
    return labels()["schedulers"].get(str(scheduler), str(scheduler))


def job_name(scheduler: object, job_id: object) -> str:
    """The session's job: "Slurm job 123"; the scheduler's name without a job id."""
    job = labels()["jobs"].get(str(scheduler))
    if job is not None and job_id not in (None, ""):
        return fill(job, job_id)
    return scheduler_name(scheduler)


def _entry(key: str) -> OptionLabel | None:
    return next((e for e in labels()["options"] if e["key"] == key), None)


def option_label(key: str) -> str:
    """The label of a session option ("Partition"), or the key itself when the table has none."""
    if key == "local":  # the switch between a batch job and a local session
        return labels()["where"]
    entry = _entry(key)
    return entry["label"] if entry else key


def field_label(key: str) -> str:
    """The spawn form's label of an option field ("Runtime (min)")."""
    entry = _entry(key)
    return (entry.get("field") or entry["label"]) if entry else key


def option_value(key: str, value: Any) -> str | None:
    """The value as a user reads it ("60 min"), or None when it says nothing (not shown)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if key in labels()["hiddenOptions"]:
        return None
    entry = _entry(key)
    if entry is None:
        return str(value)
    if value in entry.get("hide", []):
        return None
    template = entry.get("value")
    return fill(template, value) if template else str(value)


def option_rows(options: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` per option that says something: the table's order, then the rest by key."""
    rows: list[tuple[str, str]] = []
    known = set()
    for entry in labels()["options"]:
        known.add(entry["key"])
        text = option_value(entry["key"], options.get(entry["key"]))
        if text is not None:
            rows.append((entry["label"], text))
    for key in sorted(k for k in options if k not in known):
        text = option_value(key, options[key])
        if text is not None:
            rows.append((key, text))
    return rows


def difference(key: str, link: Any, session: Any) -> str:
    """One mismatch between a link's environment and this session, in the table's words.

    ``key`` is an option's key, ``"scheduler"`` or ``"kernel"`` (``link`` is
    then the kernel's name, and ``session`` is not used).
    """
    words = labels()
    if key == "kernel":
        return fill(words["mismatch"]["kernel"], words["kernel"], link)
    if key == "scheduler":
        return fill(
            words["mismatch"]["differs"],
            words["where"],
            scheduler_name(link),
            scheduler_name(session),
        )
    return fill(
        words["mismatch"]["differs"],
        option_label(key),
        option_value(key, link) or words["none"],
        option_value(key, session) or words["none"],
    )
