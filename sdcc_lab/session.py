"""The session identity: how the hub tells a single-user server where it runs.

The spawner that starts a single-user server sets one environment variable,
``SDCC_LAB_SESSION``, holding a JSON object::

    {"scheduler": "local" | "slurm" | "htcondor",
     "options": {"partition": "gpu", "account": "tier3", "qos": "gpu-qos",
                 "gpu": "any", "gpus": 1, "runtime": 30, "environment": "..."}}

``options`` are the validated user options the session was started with
(JSON scalars only). The server extension reads it once at start-up; share
links carry it as the notebook's environment and the resources panel shows it.

Without the variable (a plain ``jupyter lab``) the identity is
``{"scheduler": "local", "options": {}}``. A malformed value is logged as a
warning and gives ``{"scheduler": null, "options": {}, "problem": "..."}``:
the server keeps running and says what is wrong instead of guessing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

SESSION_ENV = "SDCC_LAB_SESSION"
# Variables of a session's server that are secrets: they never go to a scheduler
# (a job gets its token through a mode-600 file; Dask worker jobs get none).
SECRET_ENV_NAMES = frozenset({"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN"})
SCHEDULERS = ("local", "slurm", "htcondor")

Scalar = str | int | float | bool | None

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
