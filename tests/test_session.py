"""The session identity contract (``SDCC_LAB_SESSION``)."""

from __future__ import annotations

import json
import logging

import pytest

from sdcc_lab.session import SESSION_ENV, SessionIdentityError, session_from_env, session_to_env


def test_no_variable_means_a_local_session() -> None:
    assert session_from_env({}) == {"scheduler": "local", "options": {}}


def test_round_trip_from_spawner_to_server() -> None:
    options = {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "gpus": 1, "local": False}
    env = session_to_env("slurm", options)
    assert list(env) == [SESSION_ENV]
    assert session_from_env(env) == {"scheduler": "slurm", "options": options}


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        json.dumps({"scheduler": "pbs"}),
        json.dumps({"scheduler": "slurm", "options": ["gpu"]}),
        json.dumps({"scheduler": "slurm", "options": {"partition": {"nested": 1}}}),
    ],
)
def test_malformed_value_is_a_warning_not_a_crash(
    raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sdcc_lab.session"):
        identity = session_from_env({SESSION_ENV: raw})
    assert identity["scheduler"] is None
    assert identity["options"] == {}
    assert SESSION_ENV in identity["problem"]
    assert any(SESSION_ENV in r.getMessage() for r in caplog.records)


def test_spawner_side_refuses_to_write_a_bad_identity() -> None:
    with pytest.raises(SessionIdentityError, match="scheduler"):
        session_to_env("pbs", {})
    with pytest.raises(SessionIdentityError, match="option"):
        session_to_env("slurm", {"partition": ["a", "b"]})  # type: ignore[dict-item]
