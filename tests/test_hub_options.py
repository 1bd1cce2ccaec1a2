"""What a user may choose, and the validation of every submitted option.

The scheduler output here is the test cluster's (Slurm 22.05, see
tests/fixtures/SOURCES.md); the same rules run against the live cluster in
tests/test_slurm_portal.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sdcc_lab.hub.discovery import ASSOC_FIELDS, QOS_FIELDS
from sdcc_lab.hub.entitlements import Entitlements, build_entitlements, htcondor_entitlement
from sdcc_lab.hub.options import OptionsError, validate_options
from sdcc_lab.scheduler.slurm import parse_associations, parse_partitions, parse_qos

# `sacctmgr -nP show users withassoc format=user,defaultaccount,account,partition,qos,defaultqos,maxwall`
ASSOC = """\
alice|physics|tier3|gpu|gpu-qos,normal|gpu-qos|
alice|physics|physics|cpu|normal|normal|
bob|tier3|tier3|cpu|normal|normal|
"""
QOS_TEXT = "normal|||\ngpu-qos|01:00:00|DenyOnLimit|\n"
PARTITIONS = (
    "PartitionName=cpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL AllocNodes=ALL Default=YES "
    "QoS=N/A DefaultTime=01:00:00 DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO "
    "MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm "
    "PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE "
    "PreemptMode=OFF State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) "
    "DefMemPerCPU=1000 MaxMemPerNode=UNLIMITED TRES=cpu=2,mem=8000M,node=1,billing=2,gres/gpu=1\n"
    "PartitionName=gpu AllowGroups=ALL AllowAccounts=tier3 AllowQos=gpu-qos AllocNodes=ALL Default=NO "
    "QoS=N/A DefaultTime=00:30:00 DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO "
    "MaxNodes=UNLIMITED MaxTime=02:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED Nodes=vm "
    "PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO OverTimeLimit=NONE "
    "PreemptMode=OFF State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE JobDefaults=(null) "
    "DefMemPerCPU=1000 MaxMemPerNode=UNLIMITED TRES=cpu=2,mem=8000M,node=1,billing=2,gres/gpu=1\n"
)
ENVS = ["default", "root-6"]


def entitlements_of(user: str) -> Entitlements:
    return build_entitlements(
        user,
        parse_associations(ASSOC, ASSOC_FIELDS),
        parse_partitions(PARTITIONS),
        parse_qos(QOS_TEXT, QOS_FIELDS),
    )


def combos(ent: Entitlements) -> set[tuple[str, str, tuple[str, ...]]]:
    return {(p.name, a.name, a.qos) for p in ent.partitions for a in p.accounts}


def test_alice_may_use_cpu_with_physics_and_gpu_with_tier3() -> None:
    ent = entitlements_of("alice")
    assert combos(ent) == {("cpu", "physics", ("normal",)), ("gpu", "tier3", ("gpu-qos",))}
    assert ent.default_account == "physics"
    # gpu-qos's MaxWall (60 min) is tighter than partition gpu's MaxTime (120 min).
    assert ent.runtime_limit("gpu", "tier3", "gpu-qos") == (60, "QOS gpu-qos")
    assert ent.runtime_limit("cpu", "physics", "normal") == (None, "")


def test_bob_never_sees_the_gpu_partition() -> None:
    ent = entitlements_of("bob")
    assert combos(ent) == {("cpu", "tier3", ("normal",))}
    assert ent.partition("gpu") is None


def validate(user: str, **options: Any) -> dict[str, Any]:
    return validate_options(options, entitlements_of(user), environments=ENVS)


def test_valid_gpu_session_is_completed_with_defaults() -> None:
    assert validate(
        "alice", partition="gpu", account="tier3", qos="gpu-qos", gpu="any", runtime=30
    ) == {
        "local": False,
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "gpu": "any",
        "gpus": 1,
        "runtime": 30,
        "cpus": None,
        "memory": None,
        "environment": "default",
    }
    # Only a partition: account, QOS and runtime come from the defaults.
    assert validate("alice", partition="gpu") == {
        "local": False,
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "gpu": "none",
        "gpus": 0,
        "runtime": 30,
        "cpus": None,
        "memory": None,
        "environment": "default",
    }
    assert validate("alice")["partition"] == "cpu"  # the default partition
    assert validate("alice", local=True, environment="root-6") == {
        "local": True,
        "environment": "root-6",
    }


@pytest.mark.parametrize(
    ("user", "options", "field"),
    [
        ("alice", {"partition": "gpu", "qos": "gpu-qos", "runtime": 90}, "runtime"),
        ("alice", {"partition": "gpu", "runtime": 0}, "runtime"),
        ("alice", {"partition": "gpu", "runtime": "30"}, "runtime"),
        ("alice", {"partition": "gpu", "runtime": True}, "runtime"),
        ("bob", {"partition": "gpu"}, "partition"),
        ("alice", {"partition": "cpu", "account": "tier3"}, "account"),
        ("alice", {"partition": "gpu", "account": "tier3", "qos": "normal"}, "qos"),
        ("alice", {"partition": "cpu", "gpu": "v100"}, "gpu"),
        ("alice", {"partition": "gpu", "gpu": "a100"}, "gpu"),
        ("alice", {"partition": "gpu", "gpu": "any", "gpus": 2}, "gpus"),
        ("alice", {"partition": "gpu", "gpu": "none", "gpus": 1}, "gpus"),
        ("alice", {"environment": "mine"}, "environment"),
        ("alice", {"cmd": "touch /tmp/x"}, "cmd"),
        ("alice", {"prologue": "id"}, "prologue"),
        ("alice", {"partition": "gpu\n#SBATCH --uid=0"}, "partition"),
        ("alice", {"account": "tier3; id"}, "account"),
        ("alice", {"account": "$(id)"}, "account"),
        ("alice", {"qos": "`id`"}, "qos"),
        ("alice", {"partition": ["gpu"]}, "partition"),
        ("alice", {"local": "yes"}, "local"),
        ("alice", {"local": True, "partition": "gpu"}, "partition"),
    ],
)
def test_bad_options_are_refused_naming_the_field(
    user: str, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(OptionsError) as e:
        validate(user, **options)
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ")


def test_when_slurm_is_down_only_local_sessions_validate() -> None:
    down = Entitlements(user="alice", notice="Slurm is not answering")
    assert validate_options({}, down, environments=ENVS) == {
        "local": True,
        "environment": "default",
    }
    with pytest.raises(OptionsError, match="Slurm is not answering"):
        validate_options({"partition": "cpu"}, down, environments=ENVS)
    with pytest.raises(OptionsError, match="local"):
        validate_options({}, down, environments=ENVS, allow_local=False)


def with_htcondor(ent: Entitlements, groups: list[str]) -> Entitlements:
    return dataclasses.replace(
        ent,
        htcondor=htcondor_entitlement(
            "htcondor", max_minutes=240, gpu_grants={"gpu-users": 2, "*": 0}, user_groups=groups
        ),
    )


def test_htcondor_grants_gpus_by_group_and_caps_the_runtime() -> None:
    granted = with_htcondor(entitlements_of("alice"), ["alice", "gpu-users"])
    assert granted.htcondor is not None and granted.htcondor.gpus == 2
    options = validate_options(
        {"partition": "htcondor", "gpu": "any", "gpus": 2, "runtime": 240},
        granted,
        environments=ENVS,
    )
    assert (options["gpu"], options["gpus"], options["runtime"]) == ("any", 2, 240)
    # Without a runtime: the default (60 min), within the cap.
    assert validate_options({"partition": "htcondor"}, granted, environments=ENVS)["runtime"] == 60
    assert granted.to_json()["htcondor"] == {
        "name": "htcondor",
        "max_minutes": 240,
        "default_minutes": 60,
        "gpus": 2,
    }


@pytest.mark.parametrize(
    ("groups", "options", "message"),
    [
        (
            ["gpu-users"],
            {"runtime": 241},
            "runtime: 241 min is over the 240 min limit of HTCondor sessions",
        ),
        (["gpu-users"], {"gpu": "any", "gpus": 3}, "gpus: must be between 1 and 2"),
        (["gpu-users"], {"gpu": "a100"}, "gpu: 'a100' is not offered on partition htcondor"),
        (["physics"], {"gpu": "any"}, "gpu: no GPUs are granted to you on htcondor"),
        (["physics"], {"gpu": "any", "gpus": 64}, "gpu: no GPUs are granted to you on htcondor"),
        (["gpu-users"], {"account": "physics"}, "account: is not used by an HTCondor session"),
    ],
)
def test_htcondor_options_over_the_cap_or_the_grant_are_refused(
    groups: list[str], options: dict[str, Any], message: str
) -> None:
    ent = with_htcondor(entitlements_of("alice"), groups)
    with pytest.raises(OptionsError) as e:
        validate_options({"partition": "htcondor", **options}, ent, environments=ENVS)
    assert str(e.value) == message


def test_htcondor_needs_no_slurm_but_is_not_offered_unless_configured() -> None:
    down = Entitlements(user="alice", notice="Slurm is down")
    ent = with_htcondor(down, [])
    assert (
        validate_options({"partition": "htcondor"}, ent, environments=ENVS)["partition"]
        == "htcondor"
    )
    with pytest.raises(OptionsError, match="partition: 'htcondor' is not a partition you may use"):
        validate_options({"partition": "htcondor"}, entitlements_of("alice"), environments=ENVS)
