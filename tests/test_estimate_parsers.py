"""Parsers behind the start estimate: ``sbatch --test-only`` and ``scontrol show node -o``.

The fixtures (tests/fixtures/slurm/test_only, scontrol_show_node) are recorded
outputs: the test cluster's own (Slurm 22.05.8) and public ones from other
sites and versions; each file's first line names its source.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from sdcc_lab.scheduler.errors import SchedulerUnparseable
from sdcc_lab.scheduler.slurm.nodes import free_per_partition, parse_nodes
from sdcc_lab.scheduler.slurm.testonly import parse_test_only, refusal_reason

FIXTURES = Path(__file__).parent / "fixtures" / "slurm"
UTC = timezone.utc


def fixture(*parts: str) -> str:
    """The recorded text without its ``# source:`` line."""
    text = (FIXTURES.joinpath(*parts)).read_text()
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith("# source:")) + "\n"


def source_line(*parts: str) -> str:
    return (FIXTURES.joinpath(*parts)).read_text().splitlines()[0]


@pytest.mark.parametrize(
    ("name", "job", "start", "procs", "nodes", "partition"),
    [
        # 21.08-era site (ARCHER2), standard time in the site's zone (UK winter: UTC).
        (
            "archer2_2021_accepted.txt",
            "639625",
            datetime(2021, 11, 13, 4, 47, 2, tzinfo=UTC),
            256,
            "nid001294",
            "standard",
        ),
        # 25.05+ wording: "… a using …".
        (
            "cstar_2026_accepted_a_using.txt",
            "19861401",
            datetime(2026, 11, 7, 9, 18, 44, tzinfo=UTC),
            1,
            "a241",
            "shared",
        ),
        # The test cluster with SLURM_TIME_FORMAT=%s, as the portal runs it.
        (
            "slurm-22.05.8_sdcclab_epoch.txt",
            "342",
            datetime.fromtimestamp(1795788729, UTC),
            1,
            "vm",
            "cpu",
        ),
        # A federation's cluster name and a preemption line (25.11 format).
        (
            "slurm-25.11_format_cluster_preempts.txt",
            "5123",
            datetime.fromtimestamp(1795789000, UTC),
            8,
            "gpu[01-02]",
            "gpu",
        ),
    ],
)
def test_accepted_answers_across_versions(
    name: str, job: str, start: datetime, procs: int, nodes: str, partition: str
) -> None:
    assert source_line("test_only", name).startswith("# source:")
    answer = parse_test_only(fixture("test_only", name), tz=UTC)
    assert (answer.job_id, answer.start, answer.processors, answer.nodes, answer.partition) == (
        job,
        start,
        procs,
        nodes,
        partition,
    )


def test_preempted_jobs_are_listed() -> None:
    answer = parse_test_only(fixture("test_only", "slurm-25.11_format_cluster_preempts.txt"))
    assert answer.preempts == ("5001", "5002")


def test_standard_time_is_read_in_the_given_zone() -> None:
    text = fixture("test_only", "slurm-22.05.8_sdcclab_node_full.txt")
    plus_two = timezone(timedelta(hours=2))
    assert parse_test_only(text, tz=plus_two).start == datetime(2026, 11, 27, 12, 13, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "slurm-22.05.8_sdcclab_refused_time.txt",
            "Requested time limit is invalid (missing or exceeds some limit)",
        ),
        (
            "slurm-22.05.8_sdcclab_refused_account.txt",
            "Invalid account or account/partition combination specified",
        ),
        ("slurm-22.05.8_sdcclab_refused_qos.txt", "Invalid qos specification"),
        (
            "slurm-22.05.8_sdcclab_refused_memory.txt",
            "Requested node configuration is not available",
        ),
        ("slurm-22.05.8_sdcclab_refused_cpus.txt", "More processors requested than permitted"),
        (
            "slurm-22.05.8_sdcclab_refused_qos_maxwall.txt",
            "QOSMaxWallDurationPerJobLimit; Job violates accounting/QOS policy "
            "(job submit limit, user's size and/or time limits)",
        ),
    ],
)
def test_refusals_keep_slurms_words(name: str, reason: str) -> None:
    text = fixture("test_only", name)
    assert refusal_reason(text) == reason
    with pytest.raises(SchedulerUnparseable, match="no start time"):
        parse_test_only(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sbatch: Job 12 to start at soon using 1 processors on nodes vm in partition cpu",
        "sbatch: Job 12 to start at 2026-13-45T99:00:00 using 1 processors on nodes vm",
        "Submitted batch job 12",
    ],
)
def test_unreadable_answers_are_errors_not_crashes(text: str) -> None:
    with pytest.raises(SchedulerUnparseable):
        parse_test_only(text)


def test_nodes_of_the_test_cluster_idle_and_full() -> None:
    idle = free_per_partition(
        parse_nodes(fixture("scontrol_show_node", "slurm-22.05.8_sdcclab_idle.txt"))
    )
    assert set(idle) == {"cpu", "gpu"}
    cpu = idle["cpu"]
    assert (cpu.nodes, cpu.idle_nodes, cpu.cpus, cpu.gpus, cpu.memory_mib) == (1, 1, 4, 1, 22057)
    full = free_per_partition(
        parse_nodes(fixture("scontrol_show_node", "slurm-22.05.8_sdcclab_allocated.txt"))
    )
    cpu = full["cpu"]
    assert (cpu.idle_nodes, cpu.cpus, cpu.node_cpus, cpu.total_cpus) == (0, 0, 0, 4)
    # bob's job holds 4 CPUs and DefMemPerCPU=1024 each.
    assert cpu.memory_mib == 22057 - 4096


def test_nodes_of_slurm_20_11_without_cpuefctv() -> None:
    text = " ".join(
        fixture("scontrol_show_node", "slurm-20.11.8_binfservas07_multiline.txt").split()
    )
    [node] = parse_nodes(text)
    assert (node.cpus, node.cpus_alloc, node.memory_mib, node.memory_alloc_mib) == (
        16,
        16,
        250000,
        120424,
    )
    free = free_per_partition([node])["pall"]
    assert (free.cpus, free.memory_mib, free.gpus, free.idle_nodes) == (0, 250000 - 120424, 0, 0)


def test_down_and_drained_nodes_offer_nothing() -> None:
    line = fixture("scontrol_show_node", "slurm-22.05.8_sdcclab_idle.txt").strip()
    drained = line.replace("State=IDLE", "State=IDLE+DRAIN")
    free = free_per_partition(parse_nodes(drained))["cpu"]
    assert (free.nodes, free.cpus, free.idle_nodes) == (0, 0, 0)
