"""The Dask pre-check (``sbatch --test-only``) never gets the server's API token.

A kernel of a hub-started server has ``JUPYTERHUB_API_TOKEN`` in its
environment. ``cluster()`` asks Slurm whether it would take the worker jobs
before submitting any; that ``sbatch`` gets the kernel's environment minus
the secrets (``sdcc_lab.session.SECRET_ENV_NAMES``), like the worker jobs'
own ``sbatch`` (test_dask_tls.py). A fake ``sbatch`` on PATH records the
environment it was given (the real pre-check: test_dask_slurm.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sdcc_lab.dask import check_with_sbatch


def test_the_precheck_sbatch_has_no_api_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "environment"
    (tmp_path / "sbatch").write_text(
        f"#!/bin/sh\nenv > {seen}\necho 'sbatch: Job 5 to start at now' >&2\n"
    )
    (tmp_path / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret-api-token-123")
    monkeypatch.setenv("JPY_API_TOKEN", "secret-api-token-123")
    monkeypatch.setenv("SDCC_LAB_PROBE", "kept")
    assert "Job 5 to start" in check_with_sbatch("#SBATCH -p gpu", "#!/bin/sh\n", "x")
    environment = seen.read_text()
    assert "SDCC_LAB_PROBE=kept" in environment  # the kernel's environment otherwise goes along
    assert "secret-api-token-123" not in environment
