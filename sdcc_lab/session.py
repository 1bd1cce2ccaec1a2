"""Which session is this? The identity contract and the one :class:`Session`.

**The identity.** The spawner that starts a single-user server sets one
environment variable, ``SDCC_LAB_SESSION``, holding a JSON object::

    {"scheduler": "local" | "slurm" | "htcondor",
     "options": {"partition": "gpu", "account": "tier3", "qos": "gpu-qos",
                 "gpu": "any", "gpus": 1, "runtime": 30, "environment": "..."}}

``options`` are the validated user options the session was started with
(JSON scalars only). :func:`session_to_env` writes it (hub side),
:func:`session_from_env` reads it: without the variable (a plain
``jupyter lab``) the identity is ``{"scheduler": "local", "options": {}}``; a
malformed value is logged as a warning and gives
``{"scheduler": None, "options": {}, "problem": "..."}``.

**The session.** :func:`resolve_session` combines the identity with the
environment of the process into one :class:`Session`: scheduler, job id,
options, the job's facts from its environment (cluster, partition, account,
QOS) and the user. The server extension resolves it once, when it loads, and
keeps it in the web app's settings (``settings["sdcc_lab_session"]``); every
endpoint (info, resources, workers, shares) reads that one object. A kernel
(``sdcc_lab.dask``) resolves it from its own environment with the same
function, so both sides give the same answer.

**The rule where identity and environment disagree:**

1. A well-formed identity decides the scheduler (``source = "identity"``):
   the hub knows where it started the server.
2. Without one (a plain ``jupyter lab``, or a malformed value) the
   environment decides (``source = "environment"``): ``SLURM_JOB_ID`` makes a
   Slurm session, ``_CONDOR_JOB_AD`` (or ``BATCH_SYSTEM=HTCondor``) an
   HTCondor one, anything else a local one. A malformed identity is reported
   as ``problem``.
3. The job id comes only from the environment of that scheduler
   (``SLURM_JOB_ID``; the job ad's ``ClusterId.ProcId``). A local session has
   none, even where ``SLURM_JOB_ID`` is set.
4. Every disagreement is reported as ``problem`` and logged once: the
   identity names a batch scheduler but its job id is not in the environment
   (the server runs outside a batch job: no workers, no Dask cluster); or the
   environment is another scheduler's job than the identity says (its job is
   not this session's and is ignored).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SESSION_ENV = "SDCC_LAB_SESSION"
# Variables of a session's server that are secrets: they never go to a scheduler
# (a job gets its token through a mode-600 file; Dask worker jobs get none).
SECRET_ENV_NAMES = frozenset({"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"})
SCHEDULERS = ("local", "slurm", "htcondor")
# The settings key of the web app under which the server extension keeps the Session.
SETTINGS_KEY = "sdcc_lab_session"
# Dask worker jobs of a session are named WORKER_PREFIX-USER-SESSIONJOB.
WORKER_PREFIX = "dask"

Scalar = str | int | float | bool | None
Source = Literal["identity", "environment"]

log = logging.getLogger(__name__)


class SessionIdentityError(ValueError):
    """The session identity is not what the contract above says."""


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def validate_session(data: Any) -> dict[str, Any]:
    """Return a normalised copy of a session identity, or raise SessionIdentityError."""
    if not isinstance(data, Mapping):
        raise SessionIdentityError("the session identity must be a JSON object")
    scheduler = data.get("scheduler")
    if scheduler not in SCHEDULERS:
        raise SessionIdentityError(
            f"scheduler must be one of {', '.join(SCHEDULERS)}, not {scheduler!r}"
        )
    options = data.get("options", {})
    if not isinstance(options, Mapping):
        raise SessionIdentityError("options must be a JSON object")
    for key, value in options.items():
        if not isinstance(key, str) or not _is_scalar(value):
            raise SessionIdentityError(f"option {key!r} must be a string, number or boolean")
    return {"scheduler": scheduler, "options": dict(options)}


def session_to_env(scheduler: str, options: Mapping[str, Scalar]) -> dict[str, str]:
    """The environment a spawner adds so its server knows its session."""
    identity = validate_session({"scheduler": scheduler, "options": dict(options)})
    return {SESSION_ENV: json.dumps(identity, sort_keys=True)}


def session_from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Read the session identity from an environment; never raises."""
    raw = environ.get(SESSION_ENV)
    if raw is None:
        return {"scheduler": "local", "options": {}}
    try:
        return validate_session(json.loads(raw))
    except (ValueError, SessionIdentityError) as e:
        problem = f"{SESSION_ENV} is malformed ({e}); the session's identity is unknown"
        log.warning(problem)
        return {"scheduler": None, "options": {}, "problem": problem}


def current_user() -> str:
    """The user this process runs as (the name the scheduler shows)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid without a passwd entry (containers): its number is all we know
        return str(os.getuid())


# --------------------------------------------------------------------------- worker job names


def worker_job_name(user: str, session_job_id: str) -> str:
    """The name of a session's Dask worker jobs: ``dask-USER-SESSIONJOB``."""
    return f"{WORKER_PREFIX}-{user}-{session_job_id}"


def is_worker_job_name(name: str | None, user: str, session_job_id: str) -> bool:
    """Whether a job's name is that of this session's Dask workers."""
    return name == worker_job_name(user, session_job_id)


# --------------------------------------------------------------------------- the session


def detect_scheduler(environ: Mapping[str, str]) -> str:
    """The scheduler whose job this environment is (rule 2 of the module's docstring)."""
    if environ.get("SLURM_JOB_ID", "").strip():
        return "slurm"
    if environ.get("BATCH_SYSTEM", "").lower() == "htcondor" or "_CONDOR_JOB_AD" in environ:
        return "htcondor"
    return "local"


def _htcondor_job_id(environ: Mapping[str, str]) -> str | None:
    """``ClusterId.ProcId`` of the job ad the starter wrote; None when it cannot be read."""
    path = environ.get("_CONDOR_JOB_AD")
    if not path:
        return None
    from .scheduler.htcondor import job_from_ad, parse_classad

    try:
        return job_from_ad(parse_classad(Path(path).read_text(errors="replace"))).job_id
    except (OSError, ValueError) as e:  # unreadable file, or an ad without ids
        log.warning("sdcc_lab session: cannot read the job id from %s: %s", path, e)
        return None


_JOB_ID_SOURCES = {"slurm": "SLURM_JOB_ID", "htcondor": "the job ad (_CONDOR_JOB_AD)"}


@dataclass(frozen=True)
class Session:
    """This server's (or kernel's) session, resolved once by :func:`resolve_session`.

    ``scheduler`` is always one of :data:`SCHEDULERS`; ``source`` says what
    decided it (``"identity"``: ``SDCC_LAB_SESSION``; ``"environment"``: no
    usable identity, the job variables did). ``job_id`` is the batch job's id,
    None for a local session or a batch session outside its job. ``cluster``,
    ``partition``, ``account`` and ``qos`` are what the job's environment says
    (Slurm only; None where unset). ``problem`` joins every disagreement
    between identity and environment, None when they agree.
    """

    scheduler: str
    options: Mapping[str, Scalar] = field(default_factory=dict)
    job_id: str | None = None
    user: str = ""
    cluster: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    source: Source = "identity"
    problem: str | None = None
    identity_malformed: bool = False

    @property
    def is_batch_job(self) -> bool:
        """A Slurm or HTCondor session that runs inside its job (it has a job id)."""
        return self.scheduler != "local" and self.job_id is not None

    @property
    def worker_job_name(self) -> str | None:
        """The name of this session's Dask worker jobs; None unless it is a batch job."""
        return (
            worker_job_name(self.user, self.job_id) if self.is_batch_job and self.job_id else None
        )

    def identity(self) -> dict[str, Any]:
        """``{"scheduler", "options"}``: what a share link carries as the notebook's environment."""
        return {"scheduler": self.scheduler, "options": dict(self.options)}

    def to_json(self) -> dict[str, Any]:
        """The session as ``GET sdcc-lab/api/info`` shows it."""
        return {
            "scheduler": self.scheduler,
            "options": dict(self.options),
            "job_id": self.job_id,
            "user": self.user,
            "cluster": self.cluster,
            "partition": self.partition,
            "account": self.account,
            "qos": self.qos,
            "source": self.source,
            "problem": self.problem,
        }


def _env_str(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name, "").strip() or None


def resolve_session(environ: Mapping[str, str] | None = None, user: str | None = None) -> Session:
    """The session of a process with this environment (``os.environ`` by default); never raises.

    Applies the rule of the module's docstring; each problem is logged as a
    warning. ``user`` defaults to the user this process runs as.
    """
    env = os.environ if environ is None else environ
    identity = session_from_env(env)  # logs a malformed value itself
    problems: list[str] = []
    detected = detect_scheduler(env)
    named = identity["scheduler"]
    source: Source
    if named is None:
        scheduler, source = detected, "environment"
        problems.append(f"{identity['problem']}; the environment decides: {detected}")
    elif SESSION_ENV not in env:
        scheduler, source = detected, "environment"
    else:
        scheduler, source = str(named), "identity"
        if detected not in ("local", scheduler):
            problems.append(
                f"this server runs in a {detected} job ({_JOB_ID_SOURCES[detected]}) but the "
                f"session identity says {scheduler}: that job is not this session's and is ignored"
            )
    job_id: str | None = None
    if scheduler == "slurm":
        job_id = _env_str(env, "SLURM_JOB_ID")
    elif scheduler == "htcondor":
        job_id = _htcondor_job_id(env)
    if scheduler != "local" and job_id is None:
        problems.append(
            f"the session's scheduler is {scheduler} but {_JOB_ID_SOURCES[scheduler]} gives no "
            "job id: this server runs outside a batch job"
        )
    slurm = scheduler == "slurm"
    session = Session(
        scheduler=scheduler,
        options=dict(identity["options"]),
        job_id=job_id,
        user=user or current_user(),
        cluster=_env_str(env, "SLURM_CLUSTER_NAME") if slurm else None,
        partition=_env_str(env, "SLURM_JOB_PARTITION") if slurm else None,
        account=_env_str(env, "SLURM_JOB_ACCOUNT") if slurm else None,
        qos=_env_str(env, "SLURM_JOB_QOS") if slurm else None,
        source=source,
        problem="; ".join(problems) or None,
        identity_malformed=named is None,
    )
    for problem in problems[1 if named is None else 0 :]:
        log.warning("sdcc_lab session: %s", problem)
    return session
