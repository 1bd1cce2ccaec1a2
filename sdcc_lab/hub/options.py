"""The user options contract, and its validation.

Keys (all optional on input; the validated result always has them set):

===============  =======  ====================================================
``local``        bool     run on the hub's node instead of as a batch job
``partition``    str      a partition the user may use (or the HTCondor choice)
``account``      str      an account valid for that partition
``qos``          str      a QOS valid for that partition and account
``gpu``          str      ``"none"``, ``"any"`` or a GPU type the partition offers
``gpus``         int      GPUs to request (default 1 when ``gpu`` is not none)
``runtime``      int      minutes, within the partition/QOS/association limits
``cpus``         int      cores (``--cpus-per-task``); None: the site's default
``memory``       int      MiB (``--mem``); a form may send ``4G``, ``512M``, ``4000``
                          (plain numbers are MiB, as in Slurm); None: the default
``environment``  str      a software environment the admin configured
===============  =======  ====================================================

Form posts and REST ``user_options`` go through the same :func:`validate_options`:
unknown keys, wrong types, control characters, values outside what the user
may use and runtimes over the limit are refused with an :class:`OptionsError`
that names the field, before anything is submitted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..scheduler.slurm import parse_memory
from .entitlements import Entitlements

OPTION_KEYS = (
    "local",
    "partition",
    "account",
    "qos",
    "gpu",
    "gpus",
    "runtime",
    "cpus",
    "memory",
    "environment",
)
BATCH_KEYS = ("partition", "account", "qos", "gpu", "gpus", "runtime", "cpus", "memory")
# Names Slurm and HTCondor accept for partitions, accounts, QOS and GPU types.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_GPUS = 64


class OptionsError(ValueError):
    """A submitted option is not acceptable; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def _string(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise OptionsError(key, f"must be text, not {type(value).__name__}")
    if CONTROL_RE.search(value):
        raise OptionsError(key, "must not contain control characters")
    if not NAME_RE.match(value):
        raise OptionsError(key, f"{value!r} is not a valid name")
    return value


def _integer(options: Mapping[str, Any], key: str) -> int | None:
    value = options.get(key)
    if value is None or value == "":
        return None
    # bool is an int in Python: refuse it explicitly.
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionsError(key, f"must be a whole number, not {type(value).__name__}")
    return value


def _memory_mib(options: Mapping[str, Any]) -> int | None:
    """``memory`` as whole MiB: an int (MiB) or Slurm's size text (``4G``, ``4000``)."""
    value = options.get("memory")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise OptionsError("memory", f"must be MiB or a size like 4G, not {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if CONTROL_RE.search(text) or len(text) > 20:
            raise OptionsError("memory", "must be MiB or a size like 4G")
        try:
            size = parse_memory(text)
        except ValueError:
            size = None
        if size is None:
            raise OptionsError("memory", f"{text!r} is not a size (MiB, or with K, M, G, T)")
        mib = -(-size // (1 << 20))  # whole MiB, rounded up
    else:
        mib = value
    if mib < 1:
        raise OptionsError("memory", "must be at least 1 MiB")
    return mib


def _resources(
    options: Mapping[str, Any], entitlements: Entitlements, partition: str, qos: str
) -> tuple[int | None, int | None]:
    """Cores and memory (MiB), within the partition's and QOS's limits."""
    cpus = _integer(options, "cpus")
    if cpus is not None:
        limit, by = entitlements.resource_limit(partition, qos, "cpus")
        if cpus < 1:
            raise OptionsError("cpus", "must be at least 1 core")
        if limit is not None and cpus > limit:
            raise OptionsError("cpus", f"{cpus} cores is over the {limit}-core limit of {by}")
    memory = _memory_mib(options)
    if memory is not None:
        limit, by = entitlements.resource_limit(partition, qos, "memory")
        if limit is not None and memory > limit:
            raise OptionsError("memory", f"{memory} MiB is over the {limit} MiB limit of {by}")
    return cpus, memory


def validate_options(
    options: Mapping[str, Any],
    entitlements: Entitlements,
    *,
    environments: Sequence[str],
    allow_local: bool = True,
) -> dict[str, Any]:
    """Return the complete, validated options, or raise :class:`OptionsError`."""
    if not isinstance(options, Mapping):
        raise OptionsError("options", "must be a JSON object")
    for key in options:
        if key not in OPTION_KEYS:
            raise OptionsError(str(key)[:40], "is not an option of this portal")

    environment = _string(options, "environment")
    if environment is None:
        if not environments:
            raise OptionsError("environment", "no software environment is configured")
        environment = environments[0]
    elif environment not in environments:
        raise OptionsError(
            "environment", f"{environment!r} is not one of {', '.join(environments)}"
        )

    local = options.get("local", False)
    if not isinstance(local, bool):
        raise OptionsError("local", "must be true or false")
    htcondor = entitlements.htcondor
    if local or not (entitlements.batch_available or htcondor):
        if not allow_local:
            raise OptionsError("local", "local sessions are not offered here")
        if not local and any(options.get(k) not in (None, "") for k in BATCH_KEYS):
            raise OptionsError(
                "partition", entitlements.notice or "no batch partition is available to you"
            )
        for key in BATCH_KEYS:
            if options.get(key) not in (None, ""):
                raise OptionsError(key, "is not used by a local session")
        return {"local": True, "environment": environment}

    partition = _string(options, "partition")
    if partition is None:
        default = next((p for p in entitlements.partitions if p.is_default), None)
        partition = (
            (default or entitlements.partitions[0]).name if entitlements.partitions else None
        )
        if partition is None:
            raise OptionsError("partition", "choose a partition")

    runtime = _integer(options, "runtime")
    if runtime is not None and runtime < 1:
        raise OptionsError("runtime", "must be at least 1 minute")

    if htcondor is not None and partition == htcondor.name:
        for key in ("account", "qos", "cpus", "memory"):
            if options.get(key) not in (None, ""):
                raise OptionsError(key, "is not used by an HTCondor session")
        limit = htcondor.max_minutes
        runtime = runtime or htcondor.default_minutes or 60
        if limit is not None and runtime > limit:
            raise OptionsError(
                "runtime", f"{runtime} min is over the {limit} min limit of HTCondor sessions"
            )
        if not htcondor.gpus and (_string(options, "gpu") or "none") != "none":
            raise OptionsError("gpu", f"no GPUs are granted to you on {partition}")
        gpu, gpus = _gpu_choice(options, ("any",), htcondor.gpus, partition)
        return {
            "local": False,
            "partition": partition,
            "account": None,
            "qos": None,
            "gpu": gpu,
            "gpus": gpus,
            "runtime": runtime,
            "cpus": None,
            "memory": None,
            "environment": environment,
        }

    part = entitlements.partition(partition)
    if part is None:
        raise OptionsError("partition", f"{partition!r} is not a partition you may use")

    account = _string(options, "account")
    if account is None:
        names = [a.name for a in part.accounts]
        account = (
            entitlements.default_account if entitlements.default_account in names else names[0]
        )
    acct = part.account(account)
    if acct is None:
        raise OptionsError("account", f"{account!r} may not be used on partition {partition}")

    qos = _string(options, "qos")
    if qos is None:
        qos = acct.default_qos or ("normal" if "normal" in acct.qos else acct.qos[0])
    if qos not in acct.qos:
        raise OptionsError(
            "qos", f"{qos!r} may not be used with account {account} on partition {partition}"
        )

    limit, limited_by = entitlements.runtime_limit(partition, account, qos)
    if runtime is None:
        runtime = part.default_minutes or 60
        if limit is not None:
            runtime = min(runtime, limit)
    if limit is not None and runtime > limit:
        raise OptionsError(
            "runtime", f"{runtime} min is over the {limit} min limit of {limited_by}"
        )

    offered = ("any", *part.gpu_types) if part.gpus else ()
    gpu, gpus = _gpu_choice(options, offered, part.gpus, partition)
    cpus, memory = _resources(options, entitlements, partition, qos)
    return {
        "local": False,
        "partition": partition,
        "account": account,
        "qos": qos,
        "gpu": gpu,
        "gpus": gpus,
        "runtime": runtime,
        "cpus": cpus,
        "memory": memory,
        "environment": environment,
    }


def _gpu_choice(
    options: Mapping[str, Any], offered: Sequence[str], max_gpus: int, partition: str = ""
) -> tuple[str, int]:
    gpu = _string(options, "gpu") or "none"
    gpus = _integer(options, "gpus")
    if gpu == "none":
        if gpus not in (None, 0):
            raise OptionsError("gpus", "GPUs need a GPU choice other than none")
        return "none", 0
    if gpu not in offered:
        where = f" on partition {partition}" if partition else ""
        raise OptionsError("gpu", f"{gpu!r} is not offered{where}")
    gpus = 1 if gpus is None else gpus
    if not 1 <= gpus <= min(max_gpus or MAX_GPUS, MAX_GPUS):
        raise OptionsError("gpus", f"must be between 1 and {min(max_gpus or MAX_GPUS, MAX_GPUS)}")
    return gpu, gpus
