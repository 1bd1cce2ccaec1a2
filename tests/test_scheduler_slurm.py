"""Tests of sdcc_lab.scheduler.slurm against recorded outputs of Slurm 21.08 to 25.11.

Fixtures live in tests/fixtures/slurm (sources in tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from sdcc_lab.scheduler.slurm import (
    Association,
    Job,
    SlurmParseError,
    parse_associations,
    parse_duration,
    parse_memory,
    parse_partitions,
    parse_qos,
    parse_sbatch_parsable,
    parse_scontrol_job,
    parse_scontrol_jobs,
    parse_scontrol_oneline,
    parse_squeue_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "slurm"
GiB = 1 << 30
MiB = 1 << 20
UTC = timezone.utc


def text(path: str) -> str:
    return (FIXTURES / path).read_text()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "json" / name).read_text())
    return data


def utc(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def only_job(name: str) -> Job:
    jobs = parse_squeue_json(load(name))
    assert len(jobs) == 1
    return jobs[0]


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30 * 60),  # MM
        ("5:30", 5 * 60 + 30),  # MM:SS
        ("02:00:00", 7200),  # HH:MM:SS
        ("01:00:00", 3600),
        ("00:30:00", 1800),
        ("1-00:00:00", 86400),  # D-HH:MM:SS
        ("7-00:00:00", 7 * 86400),
        ("14-00:00:00", 14 * 86400),
        ("2-12", 2 * 86400 + 12 * 3600),  # D-HH
        ("1-02:30", 86400 + 2 * 3600 + 30 * 60),  # D-HH:MM
        ("3-04:05:06", 3 * 86400 + 4 * 3600 + 5 * 60 + 6),
        ("0", 0),
        (" 01:00:00\n", 3600),
    ],
)
def test_parse_duration(value: str, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["UNLIMITED", "INFINITE", "unlimited", "", "NONE", "  "])
def test_parse_duration_no_limit(value: str) -> None:
    assert parse_duration(value) is None


@pytest.mark.parametrize(
    "value", ["abc", "1:2:3:4", "-5", "1-", "1.5", "01:60:00", "1-00:00:99", "N/A", "1h"]
)
def test_parse_duration_invalid(value: str) -> None:
    with pytest.raises(SlurmParseError, match="duration"):
        parse_duration(value)


def test_parse_duration_wrong_type() -> None:
    with pytest.raises(SlurmParseError):
        parse_duration(60)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("4000M", 4000 * MiB),
        ("8G", 8 * GiB),
        ("1T", 1 << 40),
        ("512K", 512 << 10),
        ("4000", 4000 * MiB),
        ("62.50G", 64000 * MiB),
        ("75512.50G", round(75512.5 * GiB)),
        ("8g", 8 * GiB),
    ],
)
def test_parse_memory(value: str, size: int) -> None:
    assert parse_memory(value) == size


@pytest.mark.parametrize("value", ["", "UNLIMITED", "INFINITE"])
def test_parse_memory_unlimited(value: str) -> None:
    assert parse_memory(value) is None


@pytest.mark.parametrize("value", ["8X", "8GB8", "G", "-1G", "lots", "8 GiB"])
def test_parse_memory_unknown_unit(value: str) -> None:
    with pytest.raises(SlurmParseError, match="memory"):
        parse_memory(value)


# --------------------------------------------------------------------------- scontrol -o


def test_parse_scontrol_oneline_job_fixture() -> None:
    rec = parse_scontrol_oneline(
        text("scontrol_show_job_oneline/slurm-22.05-or-earlier_completed_job.txt")
    )
    assert rec["JobId"] == "270"
    assert rec["AllocNode:Sid"] == "node01:2556938"
    assert rec["CPUs/Task"] == "1"
    assert rec["ReqB:S:C:T"] == "0:0:*:*"
    assert rec["TRES"] == "cpu=1,mem=96G,node=1,billing=1"
    assert rec["Power"] == ""  # the line ends with "Power= "
    assert rec["WorkDir"] == "/home/user01/software/qtoolkit/tests/test_data/io/slurm"


def test_parse_scontrol_oneline_free_text_values() -> None:
    rec = parse_scontrol_oneline(
        "NodeName=n1 Reason=Not responding [slurm@2024-01-01T00:00:00] "
        "WorkDir=/home/a/my dir Comment=x=1 and y State=DOWN"
    )
    assert rec["Reason"] == "Not responding [slurm@2024-01-01T00:00:00]"
    assert rec["WorkDir"] == "/home/a/my dir"
    assert rec["Comment"] == "x=1 and y"  # lower-case words with '=' do not start keys
    assert rec["State"] == "DOWN"


def test_parse_scontrol_oneline_keeps_first_duplicate() -> None:
    assert parse_scontrol_oneline("JobId=1 Nodes=a Nodes=b")["Nodes"] == "a"


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "slurm_load_jobs error: Invalid job id specified",
        "garbage JobId=3",
    ],
)
def test_parse_scontrol_oneline_garbage(line: str) -> None:
    with pytest.raises(SlurmParseError):
        parse_scontrol_oneline(line)


# --------------------------------------------------------------------------- partitions


def test_partitions_osc_owens_22_05() -> None:
    parts = parse_partitions(
        text("scontrol_show_partition_oneline/osc_owens_2023_slurm-22.05-or-earlier.txt")
    )
    by_name = {p.name: p for p in parts}
    assert len(parts) == 14
    batch = by_name["batch"]
    assert batch.is_default and batch.state == "INACTIVE"
    assert batch.allow_accounts is None  # ALL
    assert len(batch.deny_accounts) == 40 and batch.deny_accounts[0] == "pcon0003"
    assert "pas1429" in batch.deny_accounts
    assert batch.allow_qos is None and batch.deny_qos == ()
    assert batch.allow_groups is None
    assert batch.max_time_seconds == 7 * 86400
    assert batch.default_time_seconds == 3600
    assert batch.gpus == 154 and batch.gpu_types == ("p100",)
    assert batch.total_cpus == 23000 and batch.total_nodes == 810

    debug = by_name["debug"]
    assert not debug.is_default and debug.state == "UP"
    assert debug.max_time_seconds == 3600 and debug.default_time_seconds == 1800
    assert debug.gpus == 0 and debug.gpu_types == ()
    assert debug.qos == "debug"

    hm = by_name["hugemem-parallel"]
    assert hm.allow_accounts == ("pzs0708", "pzs0710", "pzs0712", "pas1061", "pys0343", "pes0843")
    assert hm.deny_accounts == ()
    assert hm.max_time_seconds == 4 * 86400

    assert by_name["longserial"].max_time_seconds == 14 * 86400
    assert by_name["quick"].hidden and by_name["quick"].max_time_seconds == 86400
    systems = by_name["systems"]
    assert systems.max_time_seconds is None  # UNLIMITED
    assert systems.default_time_seconds is None  # NONE
    assert systems.allow_accounts == ("root", "pzs0708", "pzs0710", "pzs0722")
    assert by_name["gpuserial"].qos == "owens-gpu-partition"


def test_partitions_azure_24_05_plus() -> None:
    (part,) = parse_partitions(
        text(
            "scontrol_show_partition_oneline/azure_cyclecloud_dynamic_partition_slurm-24.05plus.txt"
        )
    )
    assert part.name == "dynamic"
    assert part.allow_accounts is None and part.allow_qos is None and part.allow_groups is None
    assert part.deny_accounts == () and part.deny_qos == ()
    assert part.max_time_seconds is None and part.default_time_seconds is None
    assert part.gpus == 0 and part.gpu_types == ()  # TRES=(null)
    assert part.nodes is None  # Nodes=(null)
    assert part.state == "UP" and not part.is_default
    assert part.total_cpus == 0


def test_partitions_test_cluster_excerpt() -> None:
    (gpu,) = parse_partitions(
        text("scontrol_show_partition_oneline/test-cluster_slurm-22.05.8_gpu_excerpt.txt")
    )
    assert gpu.name == "gpu"
    assert gpu.allow_accounts == ("tier3",)
    assert gpu.allow_qos == ("gpu-qos",)
    assert gpu.max_time_seconds == 7200 and gpu.default_time_seconds == 1800


def test_partitions_gpu_tres_and_deny_qos() -> None:
    line = (
        "PartitionName=a100 AllowGroups=hpc,gpu AllowAccounts=ALL DenyQos=low,scavenger "
        "AllowQos=ALL Default=NO MaxTime=2-00:00:00 DefaultTime=01:00:00 State=UP "
        "TRES=cpu=128,mem=1000G,node=2,billing=128,gres/gpu=8,gres/gpu:a100=8\n"
        "PartitionName=mixed State=DRAIN TRES=cpu=8,gres/gpu:v100=2,gres/gpu:t4=4\n"
        "PartitionName=untyped State=UP TRES=cpu=8,gres/gpu=4\n"
    )
    a100, mixed, untyped = parse_partitions(line)
    assert a100.gpus == 8 and a100.gpu_types == ("a100",)
    assert a100.allow_groups == ("hpc", "gpu")
    assert a100.deny_qos == ("low", "scavenger")
    assert a100.max_time_seconds == 2 * 86400
    assert mixed.gpus == 6 and mixed.gpu_types == ("v100", "t4") and mixed.state == "DRAIN"
    assert untyped.gpus == 4 and untyped.gpu_types == ()


@pytest.mark.parametrize(
    "bad",
    [
        "AllowGroups=ALL MaxTime=UNLIMITED",  # no PartitionName
        "PartitionName=x MaxTime=forever",
        "PartitionName=x TRES=cpu=4,gres/gpu=lots",
        "PartitionName=x TRES=cpu",
        "PartitionName=x TotalCPUs=many",
        "no key here",
    ],
)
def test_partitions_malformed(bad: str) -> None:
    with pytest.raises(SlurmParseError):
        parse_partitions(bad)


def test_partitions_empty_output() -> None:
    assert parse_partitions("") == []


# --------------------------------------------------------------------------- sacctmgr


def test_associations_test_cluster() -> None:
    assocs = parse_associations(
        text("sacctmgr/test-cluster_slurm-22.05.8_show_assoc_alice.txt"),
        ["account", "partition", "qos", "defaultqos", "maxwall"],
        user="alice",
    )
    assert assocs == [
        Association("alice", "tier3", "gpu", ("gpu-qos", "normal"), "gpu-qos", None),
        Association("alice", "physics", "cpu", ("normal",), "normal", None),
    ]


def test_associations_osc_withassoc() -> None:
    assocs = parse_associations(
        text("sacctmgr/osc_owens_sacctmgr_nP_show_users_withassoc_account_qos.txt"),
        ["account", "qos"],
    )
    assert len(assocs) == 11
    first = assocs[0]
    assert first.account == "pzs1124"
    assert first.qos == ("owens-default", "staff", "phoenix", "geophys", "hal", "gpt")
    assert first.partition is None and first.default_qos is None and first.user is None
    assert first.max_wall_seconds is None
    assert [a.account for a in assocs[-2:]] == ["pas1754", "pas1604"]
    assert all(a.qos == ("owens-default",) for a in assocs[1:])


def test_associations_fields_case_insensitive_and_extra() -> None:
    out = parse_associations(
        "bob|tier3|cpu|normal|normal|1-00:00:00|42\n",
        ["User", "Account", "Partition", "QOS", "DefaultQOS", "MaxWall", "GrpTRES"],
    )
    assert out == [Association("bob", "tier3", "cpu", ("normal",), "normal", 86400)]


def test_associations_default_account() -> None:
    (out,) = parse_associations(
        "alice|physics|tier3|gpu|gpu-qos,normal|gpu-qos|\n",
        ["user", "defaultaccount", "account", "partition", "qos", "defaultqos", "maxwall"],
    )
    assert out.default_account == "physics" and out.account == "tier3"
    assert out.user == "alice" and out.partition == "gpu"


def test_associations_parsable_trailing_separator() -> None:
    # sacctmgr -p (not -P) ends each line with '|'
    out = parse_associations("physics|cpu|normal|\n", ["account", "partition", "qos"])
    assert out[0].partition == "cpu" and out[0].qos == ("normal",)


@pytest.mark.parametrize(
    ("output", "fields"),
    [
        ("tier3|gpu\n", ["account", "partition", "qos"]),  # too few columns
        ("a|b|c|d|e\n", ["account", "qos"]),  # too many
        ("|gpu|normal\n", ["account", "partition", "qos"]),  # no account
        ("tier3|2 hours\n", ["account", "maxwall"]),
        ("tier3\n", []),
        ("tier3\n", "account"),  # a bare string, not a sequence of names
    ],
)
def test_associations_malformed(output: str, fields: Any) -> None:
    with pytest.raises(SlurmParseError):
        parse_associations(output, fields)


def test_qos_test_cluster() -> None:
    qos = parse_qos(
        text("sacctmgr/test-cluster_slurm-22.05.8_show_qos.txt"), ["name", "maxwall", "flags"]
    )
    assert [(q.name, q.max_wall_seconds, q.flags) for q in qos] == [
        ("normal", None, ()),
        ("gpu-qos", 3600, ("DenyOnLimit",)),
    ]


def test_qos_malformed() -> None:
    with pytest.raises(SlurmParseError, match="fields"):
        parse_qos("normal|1:00:00\n", ["name", "maxwall", "flags"])
    with pytest.raises(SlurmParseError, match="name"):
        parse_qos("|1:00:00|\n", ["name", "maxwall", "flags"])


# --------------------------------------------------------------------------- scontrol show job

COMPLETED_JOB = "scontrol_show_job_oneline/slurm-22.05-or-earlier_completed_job.txt"


def test_scontrol_job_22_05_completed() -> None:
    job = parse_scontrol_job(text(COMPLETED_JOB), tz=UTC)
    assert job.job_id == "270"
    assert job.user == "user01"
    assert job.state == "COMPLETED" and job.state_flags == ()
    assert job.reason is None
    assert job.partition == "main"
    assert job.account is None  # Account=(null)
    assert job.qos == "normal"
    assert job.nodes == "node01" and job.batch_host == "node01"
    assert job.num_cpus == 1
    assert job.memory_bytes == 96 * GiB
    assert job.gpus == 0
    assert job.time_limit_seconds is None  # UNLIMITED
    assert job.submit_time == datetime(2023, 10, 11, 11, 8, 17, tzinfo=UTC)
    assert job.start_time == datetime(2023, 10, 11, 11, 8, 17, tzinfo=UTC)
    assert job.end_time == datetime(2023, 10, 11, 11, 13, 17, tzinfo=UTC)
    assert job.name == "submit.script"


def test_scontrol_job_times_in_given_zone() -> None:
    plus2 = timezone(timedelta(hours=2))
    job = parse_scontrol_job(text(COMPLETED_JOB), tz=plus2)
    assert job.start_time == datetime(2023, 10, 11, 9, 8, 17, tzinfo=UTC)
    assert job.start_time is not None and job.start_time.tzinfo == UTC


def test_scontrol_job_times_default_to_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        job = parse_scontrol_job(text(COMPLETED_JOB))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert job.end_time == datetime(2023, 10, 11, 15, 13, 17, tzinfo=UTC)  # EDT = UTC-4


def test_scontrol_job_23_02_plus_alloc_tres_and_gpus() -> None:
    line = (
        "JobId=4242 ArrayJobId=4240 ArrayTaskId=2 JobName=jupyterhub UserId=alice(1001) "
        "GroupId=alice(1001) Account=tier3 QOS=gpu-qos JobState=RUNNING Reason=None "
        "RunTime=00:10:00 TimeLimit=1-00:00:00 SubmitTime=2025-03-01T10:00:00 "
        "StartTime=2025-03-01T10:00:05 EndTime=2025-03-02T10:00:05 Partition=gpu "
        "NodeList=gpu[01-02] BatchHost=gpu01 NumNodes=2 NumCPUs=8 NumTasks=2 "
        "ReqTRES=cpu=8,mem=16G,node=2,billing=8,gres/gpu=4 "
        "AllocTRES=cpu=8,mem=16G,node=2,billing=8,gres/gpu=4,gres/gpu:a100=4 "
        "TresPerNode=gres/gpu:a100:2 Command=/home/alice/run job.sh "
        "WorkDir=/home/alice LicensesAlloc=(null)"
    )
    job = parse_scontrol_job(line, tz=UTC)
    assert (job.job_id, job.state, job.account, job.qos, job.partition) == (
        "4242",
        "RUNNING",
        "tier3",
        "gpu-qos",
        "gpu",
    )
    assert job.num_cpus == 8 and job.memory_bytes == 16 * GiB
    assert job.gpus == 4 and job.gpu_types == ("a100",)
    assert job.time_limit_seconds == 86400
    assert job.nodes == "gpu[01-02]"
    assert job.array_job_id == "4240" and job.array_task_id == "2"


def test_scontrol_job_pending_gpus_from_tres_per_node() -> None:
    line = (
        "JobId=77 JobName=nb UserId=bob(1002) Account=tier3 QOS=normal "
        "JobState=PENDING Reason=Priority TimeLimit=02:00:00 SubmitTime=2025-03-01T10:00:00 "
        "StartTime=Unknown EndTime=Unknown Partition=gpu NodeList=(null) BatchHost=(null) "
        "NumNodes=2-2 NumCPUs=4 ReqTRES=cpu=4,mem=8000M,node=2 AllocTRES=(null) "
        "TresPerNode=gres:gpu:2"
    )
    job = parse_scontrol_job(line, tz=UTC)
    assert job.state == "PENDING" and job.reason == "Priority"
    assert job.start_time is None and job.end_time is None
    assert job.nodes is None and job.batch_host is None
    assert job.memory_bytes == 8000 * MiB
    assert job.gpus == 4  # 2 per node, 2 nodes
    assert job.time_limit_seconds == 7200


def test_scontrol_job_memory_without_mem_tres() -> None:
    base = "JobId=8 JobState=RUNNING NumNodes=2 NumCPUs=4 TRES=cpu=4,node=2 "
    assert parse_scontrol_job(base + "MinMemoryNode=8G", tz=UTC).memory_bytes == 16 * GiB
    assert parse_scontrol_job(base + "MinMemoryCPU=1000M", tz=UTC).memory_bytes == 4000 * MiB
    assert parse_scontrol_job(base + "MinMemoryNode=0", tz=UTC).memory_bytes is None


def test_scontrol_job_without_own_time_limit() -> None:
    job = parse_scontrol_job("JobId=9 JobState=PENDING TimeLimit=Partition_Limit", tz=UTC)
    assert job.time_limit_seconds is None


def test_scontrol_job_state_flags() -> None:
    job = parse_scontrol_job("JobId=5 JobState=COMPLETING,RUNNING Reason=None", tz=UTC)
    assert job.state == "RUNNING" and job.state_flags == ("COMPLETING",)


def test_scontrol_jobs_several_lines() -> None:
    jobs = parse_scontrol_jobs("JobId=1 JobState=PENDING\nJobId=2 JobState=RUNNING\n")
    assert [j.job_id for j in jobs] == ["1", "2"]
    with pytest.raises(SlurmParseError, match="one"):
        parse_scontrol_job("JobId=1 JobState=PENDING\nJobId=2 JobState=RUNNING\n")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "slurm_load_jobs error: Invalid job id specified",
        "JobName=x JobState=RUNNING",  # no JobId
        "JobId=3 Partition=x",  # no JobState
        "JobId=3 JobState=RUNNING SubmitTime=03/01 10:00",  # non-standard time format
        "JobId=3 JobState=RUNNING TimeLimit=soon",
        "JobId=3 JobState=RUNNING NumCPUs=two",
        "JobId=3 JobState=RUNNING TRES=cpu=2,mem=8Q",
    ],
)
def test_scontrol_job_malformed(bad: str) -> None:
    with pytest.raises(SlurmParseError):
        parse_scontrol_job(bad, tz=UTC)


# --------------------------------------------------------------------------- squeue / slurmrestd JSON


def test_json_v0037_slurm_21_08() -> None:
    job = only_job("v0.0.37_slurm-21.08.5_squeue_json_running.json")
    assert job.job_id == "26515966"
    assert job.user == "user01"
    assert job.state == "RUNNING" and job.reason is None
    assert (job.partition, job.account, job.qos) == ("hw-l", "account1", "normal")
    assert job.nodes == "cs75" and job.batch_host == "cs75"
    assert job.num_cpus == 1
    assert job.memory_bytes == 64000 * MiB  # mem=62.50G
    assert job.gpus == 0
    assert job.time_limit_seconds == 30240 * 60  # minutes: 21 days
    assert job.submit_time == utc(1684114900)
    assert job.start_time == utc(1684114921)
    assert job.end_time == utc(1686633833)
    assert job.name == "job_name"
    assert job.array_job_id is None and job.array_task_id is None


def test_json_v0040_talapas_array_running_and_pending() -> None:
    running, pending = parse_squeue_json(
        load("v0.0.40_slurm-23.11.1_talapas_jobs_running_and_pending.json")
    )
    assert running.job_id == "7745162"
    assert running.state == "RUNNING" and running.reason is None
    assert (running.partition, running.account, running.qos) == ("preempt", "jamming", "normal")
    assert running.num_cpus == 1 and running.memory_bytes == 4 * GiB and running.gpus == 0
    assert running.time_limit_seconds == 1440 * 60
    assert running.start_time == utc(1722274361)
    assert running.end_time == utc(1722360761)
    assert running.nodes == "n0180"
    assert running.array_job_id == "7725337" and running.array_task_id == "411"

    assert pending.job_id == "7725337"
    assert pending.state == "PENDING" and pending.reason == "Resources"
    assert pending.nodes is None and pending.batch_host is None
    assert pending.start_time is None and pending.end_time is None  # number 0
    assert pending.submit_time == utc(1722268317)
    assert pending.memory_bytes == 4 * GiB  # from tres_req_str (alloc is empty)
    assert pending.array_task_id == "412-9999"


def test_json_v0040_slurm_23_11_gpu_two_types() -> None:
    job = only_job("v0.0.40_slurm-23.11.10_slurmrestd_job_running_gpu.json")
    assert (job.job_id, job.user, job.state) == ("790", "bparks", "RUNNING")
    assert (job.partition, job.account, job.qos) == ("ia", "optic", "normal")
    assert job.num_cpus == 1 and job.memory_bytes == 512 * MiB
    assert job.gpus == 6 and job.gpu_types == ("h100", "h200")
    assert job.time_limit_seconds == 60
    assert job.start_time == utc(1747045667) and job.end_time == utc(1747045727)


@pytest.mark.parametrize(
    ("name", "job_id", "user", "partition", "account", "nodes", "gpus", "types", "start", "end"),
    [
        (
            "v0.0.41_slurm-24.05.3_slurmrestd_job_running_gpu.json",
            "9",
            "dperez",
            "gpu",
            "acoustic",
            "gpu1",
            4,
            ("h100",),
            1762529652,
            1762529712,
        ),
        (
            "v0.0.42_slurm-24.11.5_slurmrestd_job_running_gpu.json",
            "6374",
            "vhartman",
            "ia",
            "biology",
            "ia1",
            6,
            ("h100", "h200"),
            1762788927,
            1762788987,
        ),
        (
            "v0.0.43_slurm-25.05.4_slurmrestd_job_running_gpu.json",
            "4751",
            "jbeck",
            "gpu",
            "biology",
            "gpu1",
            4,
            ("h100",),
            1762789170,
            1762789230,
        ),
        (
            "v0.0.44_slurm-25.11.0_slurmrestd_job_running_gpu.json",
            "5557",
            "jbeck",
            "gpu",
            "biology",
            "gpu2",
            4,
            ("h100",),
            1762784646,
            1762784706,
        ),
    ],
)
def test_json_v0041_to_v0044_running_gpu(
    name: str,
    job_id: str,
    user: str,
    partition: str,
    account: str,
    nodes: str,
    gpus: int,
    types: tuple[str, ...],
    start: int,
    end: int,
) -> None:
    job = only_job(name)
    assert job.job_id == job_id and job.user == user
    assert job.state == "RUNNING" and job.reason is None
    assert (job.partition, job.account, job.qos) == (partition, account, "normal")
    assert job.nodes == nodes and job.batch_host == nodes
    assert job.num_cpus == 1 and job.memory_bytes == 512 * MiB
    assert job.gpus == gpus and job.gpu_types == types
    assert job.time_limit_seconds == 60
    assert job.start_time == utc(start) and job.end_time == utc(end)
    assert job.name == "wrap"


def test_json_v0042_pending_begin_time() -> None:
    job = only_job("v0.0.42_slurm-24.11.5_slurmrestd_job_pending.json")
    assert (job.job_id, job.user, job.state, job.reason) == (
        "6370",
        "jbeck",
        "PENDING",
        "BeginTime",
    )
    assert (job.partition, job.account, job.qos) == ("standard", "biology", "normal")
    assert job.num_cpus == 4
    assert job.memory_bytes == 2 * GiB  # tres_alloc_str empty: tres_req_str
    assert job.gpus == 0
    assert job.nodes is None and job.batch_host is None
    assert job.time_limit_seconds == 60
    assert job.submit_time == utc(1762788785)
    assert job.start_time == utc(1762792385)  # the BeginTime: expected start


def test_json_gpus_from_tres_alloc_and_per_node() -> None:
    base = load("v0.0.42_slurm-24.11.5_slurmrestd_job_pending.json")["jobs"][0]
    alloc = dict(base, tres_alloc_str="cpu=4,mem=2G,node=1,gres/gpu=2,gres/gpu:a100=2")
    per_node = dict(
        base,
        tres_per_node="gres/gpu:a100:2",
        node_count={"set": True, "infinite": False, "number": 3},
    )
    per_task = dict(
        base, tres_per_task="gres/gpu:1", tasks={"set": True, "infinite": False, "number": 4}
    )
    old = dict(base, tres_per_node="gres:gpu:1")  # 22.05 spelling
    equals = dict(base, tres_per_job="gres/gpu=3")
    a, b, c, d, e = parse_squeue_json({"jobs": [alloc, per_node, per_task, old, equals]})
    assert (a.gpus, a.gpu_types) == (2, ("a100",))
    assert (b.gpus, b.gpu_types) == (6, ("a100",))
    assert c.gpus == 4
    assert d.gpus == 1
    assert e.gpus == 3


def test_json_v0038_style_plain_numbers() -> None:
    # Shape of data_parser v0.0.38/v0.0.39 (22.05/23.02): plain integers, string
    # job_state, memory only as memory_per_node, no limit as INFINITE (0xffffffff).
    job = {
        "job_id": 12,
        "user_name": "alice",
        "job_state": "PENDING",
        "state_reason": "Priority",
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "nodes": "",
        "cpus": 2,
        "node_count": 1,
        "memory_per_node": 8192,
        "memory_per_cpu": None,
        "time_limit": 4294967295,
        "submit_time": 1700000000,
        "start_time": 0,
        "end_time": 0,
        "tres_alloc_str": "",
        "tres_req_str": "",
        "tres_per_node": "gres:gpu:1",
        "array_job_id": 0,
        "array_task_id": None,
    }
    (out,) = parse_squeue_json({"jobs": [job]})
    assert out.state == "PENDING" and out.reason == "Priority"
    assert out.memory_bytes == 8 * GiB and out.gpus == 1 and out.num_cpus == 2
    assert out.time_limit_seconds is None
    assert out.submit_time == utc(1700000000) and out.start_time is None


def test_json_infinite_and_unset_numbers() -> None:
    base = load("v0.0.44_slurm-25.11.0_slurmrestd_job_running_gpu.json")["jobs"][0]
    job = dict(
        base,
        time_limit={"set": True, "infinite": True, "number": 0},
        end_time={"set": False, "infinite": False, "number": 0},
        job_state=["RUNNING", "COMPLETING"],
    )
    (out,) = parse_squeue_json({"jobs": [job]})
    assert out.time_limit_seconds is None and out.end_time is None
    assert out.state == "RUNNING" and out.state_flags == ("COMPLETING",)


def test_json_empty_jobs() -> None:
    assert parse_squeue_json({"jobs": [], "errors": []}) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "object"),
        ("{}", "object"),
        ({}, "jobs"),
        (
            {"errors": [{"error": "Invalid job id specified", "error_number": 2017}]},
            "Invalid job id",
        ),
        ({"jobs": {"job_id": 1}}, "list"),
        ({"jobs": [5]}, "object"),
        ({"jobs": [{"job_state": "RUNNING"}]}, "job_id"),
        ({"jobs": [{"job_id": True, "job_state": "RUNNING"}]}, "job_id"),
        ({"jobs": [{"job_id": 1}]}, "job_state"),
        ({"jobs": [{"job_id": 1, "job_state": 3}]}, "job_state"),
        ({"jobs": [{"job_id": 1, "job_state": []}]}, "state"),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "cpus": "two"}]}, "cpus"),
        (
            {"jobs": [{"job_id": 1, "job_state": "RUNNING", "time_limit": {"number": "x"}}]},
            "time_limit",
        ),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "partition": 7}]}, "partition"),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "tres_alloc_str": "mem=5Q"}]}, "memory"),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "tres_req_str": "cpu"}]}, "TRES"),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "gres_detail": "gpu:1"}]}, "gres_detail"),
        ({"jobs": [{"job_id": 1, "job_state": "RUNNING", "start_time": 10**15}]}, "time"),
    ],
)
def test_json_malformed(data: Any, message: str) -> None:
    with pytest.raises(SlurmParseError, match=message):
        parse_squeue_json(data)


def test_json_truncated_document_every_fixture_prefix() -> None:
    # A truncated document fails in json; a truncated job list (keys missing at
    # any point) must fail cleanly or parse, never leak another exception.
    base = load("v0.0.44_slurm-25.11.0_slurmrestd_job_running_gpu.json")["jobs"][0]
    keys = list(base)
    for n in range(len(keys)):
        partial = {k: base[k] for k in keys[:n]}
        with contextlib.suppress(SlurmParseError):
            parse_squeue_json({"jobs": [partial]})
    raw = (FIXTURES / "json" / "v0.0.37_slurm-21.08.5_squeue_json_running.json").read_text()
    with pytest.raises(ValueError):
        json.loads(raw[: len(raw) // 2])


def test_json_wrong_types_everywhere_raise_only_parse_error() -> None:
    base = load("v0.0.44_slurm-25.11.0_slurmrestd_job_running_gpu.json")["jobs"][0]
    for key in base:
        for junk in (object(), [1], {"number": "x"}, 3.5, "x", None, True):
            with contextlib.suppress(SlurmParseError):
                parse_squeue_json({"jobs": [dict(base, **{key: junk})]})


# --------------------------------------------------------------------------- sbatch


@pytest.mark.parametrize(
    ("output", "job_id"),
    [("12345\n", "12345"), ("12345;cluster-a\n", "12345"), ("  99  ", "99")],
)
def test_sbatch_parsable(output: str, job_id: str) -> None:
    assert parse_sbatch_parsable(output) == job_id


@pytest.mark.parametrize(
    "output",
    [
        "",
        "Submitted batch job 12345\n",
        "sbatch: error: Batch job submission failed: Invalid account\n",
        "12345;\n",
        "12345\n67890\n",
        "abc",
    ],
)
def test_sbatch_parsable_rejects(output: str) -> None:
    with pytest.raises(SlurmParseError, match="sbatch"):
        parse_sbatch_parsable(output)
