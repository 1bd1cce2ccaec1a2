"""HTCondor sessions have a runtime cap and GPUs only for users the site grants them.

A real ``sdcc-lab demo`` portal offers HTCondor under the pseudo-partition
``htcondor``; options are posted through the hub's REST API as a user's
browser or script would. No HTCondor pool can run here: ``condor_submit`` is a
stand-in that records every description it is given and prints an output
recorded on a real pool (tests/fixtures/htcondor), so "no job submitted"
means the stand-in never ran. The users are the cluster's system users alice
and bob (scripts/slurm/cluster.sh creates them): their unix groups decide the
GPU grant.
"""

from __future__ import annotations

import grp
import pwd
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Portal
from hubclient import HubClient

pytestmark = [pytest.mark.hub]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "htcondor"


def primary_group(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


@pytest.fixture
def htcondor_portal(start_demo: Callable[..., Portal], tmp_path: Path) -> Portal:
    submits = tmp_path / "submits"
    submits.mkdir()
    (tmp_path / "submit.out").write_text(
        (FIXTURES / "condor_submit_dag_output_htcondor-23.x_chtc.txt").read_text()
    )
    submit = tmp_path / "condor_submit"
    submit.write_text(f'#!/bin/sh\ncat > "{submits}/$$.sub"\ncat {tmp_path}/submit.out\n')
    submit.chmod(submit.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "htcondor.py"
    config.write_text(
        'c.SDCCSpawner.htcondor_partition = "htcondor"\n'
        "c.SDCCSpawner.htcondor_max_runtime = 240\n"
        f"c.SDCCSpawner.htcondor_gpu_grants = {{{primary_group('alice')!r}: 2}}\n"
        f"c.HTCondorSessionSpawner.condor_submit = {str(submit)!r}\n"
        # The stand-in runs as the hub (no runuser): it only records.
        "c.HTCondorSessionSpawner.exec_prefix = []\n"
        f"c.HTCondorSessionSpawner.log_dir_template = {str(tmp_path / 'logs' / '{username}')!r}\n"
        f"c.HTCondorSessionSpawner.token_dir_template = {str(tmp_path / 'run' / '{username}')!r}\n"
        'c.HTCondorSessionSpawner.condor_q = "/bin/true"\n'
    )
    portal = start_demo(args=("--config", str(config)))
    portal.extra["submits"] = str(submits)
    return portal


def submitted(portal: Portal) -> list[str]:
    return [p.read_text() for p in sorted(Path(portal.extra["submits"]).iterdir())]


def post(portal: Portal, user: str, **options: object) -> tuple[int, str]:
    client = HubClient(portal.url, user)
    client.login()
    r = client.hub_api("POST", f"users/{user}/server", json=options)
    return r.status_code, r.json().get("message", "") if r.status_code == 400 else r.text


@pytest.mark.parametrize(
    ("user", "options", "message"),
    [
        (
            "alice",
            {"runtime": 241},
            "runtime: 241 min is over the 240 min limit of HTCondor sessions",
        ),
        (
            "alice",
            {"runtime": 100000, "gpu": "none"},
            "runtime: 100000 min is over the 240 min limit",
        ),
        ("alice", {"gpu": "any", "gpus": 3}, "gpus: must be between 1 and 2"),
        ("alice", {"gpu": "any", "gpus": 64}, "gpus: must be between 1 and 2"),
        ("bob", {"gpu": "any", "gpus": 1}, "gpu: no GPUs are granted to you on htcondor"),
        ("bob", {"gpu": "any"}, "gpu: no GPUs are granted to you on htcondor"),
    ],
)
def test_over_the_cap_or_without_a_grant_is_refused_and_nothing_is_submitted(
    htcondor_portal: Portal, user: str, options: dict[str, object], message: str
) -> None:
    status, text = post(htcondor_portal, user, partition="htcondor", **options)
    assert status == 400, text
    assert text.startswith(message), text
    assert submitted(htcondor_portal) == []


def test_within_the_cap_and_the_grant_the_job_is_submitted(htcondor_portal: Portal) -> None:
    _, text = post(htcondor_portal, "alice", partition="htcondor", gpu="any", gpus=2, runtime=240)
    # Accepted: the stand-in pool then loses the job, which is not what this test is about.
    assert not text.startswith(("runtime:", "gpu:", "gpus:")), text
    [description] = submitted(htcondor_portal)
    assert "request_gpus = 2\n" in description
    assert "allowed_job_duration = 14400\n" in description
