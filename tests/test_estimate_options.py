"""Cores and memory: validated like every option, bounded by partition and QOS limits.

The entitlements come from the test cluster's recorded outputs (partitions,
associations, QOS with and without MaxTRES, and its node): no scheduler runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sdcc_lab.hub.discovery import ASSOC_FIELDS, QOS_FIELDS
from sdcc_lab.hub.entitlements import Entitlements, build_entitlements
from sdcc_lab.hub.options import OptionsError, validate_options
from sdcc_lab.scheduler.slurm import parse_associations, parse_partitions, parse_qos
from sdcc_lab.scheduler.slurm.nodes import parse_nodes

FIXTURES = Path(__file__).parent / "fixtures" / "slurm"
ASSOC = (
    "alice|physics|physics|cpu|normal|normal|\nalice|physics|tier3|gpu|gpu-qos,normal|gpu-qos|\n"
)
# The test cluster's QOS (sacctmgr -nP show qos format=name,maxwall,flags,maxtres), gpu-qos
# given a MaxTRES of 2 cores and 4 GiB for these tests.
QOS_TEXT = "normal|||\ngpu-qos|01:00:00|DenyOnLimit|cpu=2,mem=4G\n"


def node_text() -> str:
    text = (FIXTURES / "scontrol_show_node" / "slurm-22.05.8_sdcclab_idle.txt").read_text()
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("# source:"))


def partitions_text(max_cpus: str = "UNLIMITED", max_mem: str = "UNLIMITED") -> str:
    common = (
        "AllocNodes=ALL QoS=N/A DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO "
        f"MaxNodes=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode={max_cpus} Nodes=vm State=UP "
        f"TotalCPUs=4 TotalNodes=1 DefMemPerCPU=1024 MaxMemPerNode={max_mem} "
        "TRES=cpu=4,mem=22057M,node=1,billing=4,gres/gpu=1"
    )
    return (
        "PartitionName=cpu AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL Default=YES "
        f"DefaultTime=01:00:00 MaxTime=UNLIMITED {common}\n"
        "PartitionName=gpu AllowGroups=ALL AllowAccounts=tier3 AllowQos=gpu-qos Default=NO "
        f"DefaultTime=00:30:00 MaxTime=02:00:00 {common}\n"
    )


def alice(**partition_limits: str) -> Entitlements:
    return build_entitlements(
        "alice",
        parse_associations(ASSOC, ("user", *ASSOC_FIELDS[1:])),
        parse_partitions(partitions_text(**partition_limits)),
        parse_qos(QOS_TEXT, QOS_FIELDS),
        nodes=parse_nodes(node_text()),
    )


def validate(ent: Entitlements, **options: Any) -> dict[str, Any]:
    return validate_options(options, ent, environments=["default"])


def test_cores_and_memory_default_to_none_and_pass_through() -> None:
    ent = alice()
    got = validate(ent, partition="cpu")
    assert (got["cpus"], got["memory"]) == (None, None)
    got = validate(ent, partition="cpu", cpus=4, memory="2G")
    assert (got["cpus"], got["memory"]) == (4, 2048)


@pytest.mark.parametrize(
    ("memory", "mib"),
    [(4000, 4000), ("4000", 4000), ("4G", 4096), ("4g", 4096), ("1.5G", 1536), ("512K", 1)],
)
def test_memory_in_mib_or_with_a_unit(memory: Any, mib: int) -> None:
    assert validate(alice(), partition="cpu", memory=memory)["memory"] == mib


def test_the_largest_node_bounds_a_partition_without_per_node_limits() -> None:
    ent = alice()
    assert ent.resource_limit("cpu", "normal", "cpus") == (4, "partition cpu")
    assert ent.resource_limit("cpu", "normal", "memory") == (22057, "partition cpu")
    with pytest.raises(
        OptionsError, match="cpus: 5 cores is over the 4-core limit of partition cpu"
    ):
        validate(ent, partition="cpu", cpus=5)
    with pytest.raises(OptionsError, match="memory: 30720 MiB is over the 22057 MiB limit"):
        validate(ent, partition="cpu", memory="30G")


def test_the_partitions_per_node_limits_win_when_smaller() -> None:
    ent = alice(max_cpus="2", max_mem="8000")
    with pytest.raises(OptionsError, match="over the 2-core limit of partition cpu"):
        validate(ent, partition="cpu", cpus=3)
    with pytest.raises(OptionsError, match="over the 8000 MiB limit of partition cpu"):
        validate(ent, partition="cpu", memory=8001)
    assert validate(ent, partition="cpu", cpus=2, memory=8000)["memory"] == 8000


def test_the_qos_max_tres_bounds_cores_and_memory() -> None:
    ent = alice()
    with pytest.raises(OptionsError, match="over the 2-core limit of QOS gpu-qos"):
        validate(ent, partition="gpu", cpus=3)
    with pytest.raises(OptionsError, match="over the 4096 MiB limit of QOS gpu-qos"):
        validate(ent, partition="gpu", memory="5G")
    # The form shows the same limits.
    gpu = next(p for p in ent.to_json()["partitions"] if p["name"] == "gpu")
    qos = gpu["accounts"][0]["qos"][0]
    assert (qos["max_cpus"], qos["max_memory_mib"]) == (2, 4096)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cpus": 0}, "cpus: must be at least 1 core"),
        ({"cpus": "2"}, "cpus: must be a whole number"),
        ({"cpus": True}, "cpus: must be a whole number"),
        ({"memory": "lots"}, "memory: 'lots' is not a size"),
        ({"memory": "4 G"}, "is not a size"),
        ({"memory": "-4G"}, "is not a size"),
        ({"memory": "4G\n#SBATCH --uid=0"}, "memory: must be MiB or a size like 4G"),
        ({"memory": 0}, "memory: must be at least 1 MiB"),
        ({"memory": 1.5}, "memory: must be MiB or a size like 4G, not float"),
        ({"memory": "9" * 30}, "memory: must be MiB or a size like 4G"),
    ],
)
def test_bad_cores_and_memory_are_refused_naming_the_field(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(OptionsError, match=message.replace("(", r"\(")):
        validate(alice(), partition="cpu", **options)


def test_local_sessions_take_no_cores_or_memory() -> None:
    with pytest.raises(OptionsError, match="cpus: is not used by a local session"):
        validate(alice(), local=True, cpus=2)
