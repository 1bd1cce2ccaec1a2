"""Why a session waits, in plain words; "start instead" inside the batch spawner.

Unit tests with recorded scheduler outputs and the stand-in scheduler commands
of tests/test_hub_batch_lifecycle.py (executables that record their arguments;
everything else is real). The same flows on the real Slurm cluster, through a
real hub, are tests/test_pending_slurm.py.

Recorded outputs used (tests/fixtures/SOURCES.md): the test cluster's own
``squeue --json`` of a job waiting for resources with its planned start
(22.05.8), Slurm-web's pending job (24.11.5, ``BeginTime``), and the HTCondor
9.9.0 job ad of a held job (``HoldReason`` and ``LastRejMatchReason``). No
HTCondor pool runs here; the idle case is that recorded ad with ``JobStatus``
set to 1 (idle), which is how the schedd shows the same job once released.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_hub_batch_lifecycle import OPTIONS, Fakes, make, token_files
from test_hub_htcondor import RecordedHTCondorSpawner, fake_command

from sdcc_lab.hub.batch import JobNotWaiting, when_words
from sdcc_lab.hub.entitlements import AccountChoice, Entitlements, PartitionChoice
from sdcc_lab.hub.estimate import StartEstimate
from sdcc_lab.hub.pending import candidate_options, choice_label, sooner
from sdcc_lab.hub.slurm import SlurmSessionSpawner
from sdcc_lab.scheduler.reasons import (
    condor_hold_reason,
    condor_idle_reason,
    slurm_reason,
)

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return Fakes(tmp_path / "bin")


@pytest.fixture
def condor(tmp_path: Path) -> RecordedHTCondorSpawner:
    s = RecordedHTCondorSpawner(
        cmd=["/opt/env/bin/sdcc-lab-singleuser"], exec_prefix=[], user=SimpleNamespace(name="alice")
    )
    s.test_log_dir = tmp_path / "logs"  # type: ignore[attr-defined]
    s.test_env = {}
    return s


# --- the words ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("Priority", "Other jobs with a higher priority are ahead of yours in the queue."),
        ("Resources", "The nodes are busy: your job starts as soon as enough of them are free."),
        ("JobHeldUser", "Your job is on hold (held by you): it starts only once it is released."),
        (
            "JobHeldAdmin",
            "An administrator put your job on hold: it starts only once they release it.",
        ),
        ("PartitionDown", "The partition is down: no job starts on it until it is up again."),
        ("PartitionInactive", "The partition is inactive: no job starts on it."),
        ("PartitionNodeLimit", "Your job asks for more nodes than the partition allows."),
        ("BeginTime", "Your job was asked to start no earlier than a later time."),
        ("Dependency", "Your job waits for another job it depends on to finish."),
        ("Reservation", "Your job waits for its reservation to begin."),
        (
            "QOSMaxJobsPerUserLimit",
            "A limit of your QOS on jobs is reached by jobs already running: "
            "yours starts when some of them end.",
        ),
        (
            "QOSGrpCpuLimit",
            "A limit of your QOS on CPUs is reached by jobs already running: "
            "yours starts when some of them end.",
        ),
        (
            "AssocGrpGRES",
            "A limit of your account (association) on GPUs or other generic resources is "
            "reached by jobs already running: yours starts when some of them end.",
        ),
        (
            "AssocGrpCPUMinutesLimit",
            "A limit of your account (association) on CPUs over time (usage minutes) is "
            "reached by jobs already running: yours starts when some of them end.",
        ),
        ("QOSJobLimit", "Your job waits for a limit of your QOS on jobs."),
        (
            "AssociationJobLimit",
            "Your job waits for a limit of your account (association) on jobs.",
        ),
        (
            "QOSMinGRES",
            "Your job asks for fewer GPUs or other generic resources than your QOS requires.",
        ),
    ],
)
def test_each_common_slurm_reason_reads_in_plain_words(code: str, words: str) -> None:
    reason = slurm_reason(code)
    assert reason is not None and reason.known
    assert (reason.code, reason.words) == (code, words)


def test_a_maintenance_reservation_and_unavailable_nodes_say_so() -> None:
    maintenance = slurm_reason("ReqNodeNotAvail, Reserved for maintenance")
    assert maintenance is not None and maintenance.code == "ReqNodeNotAvail"
    assert maintenance.words == (
        "The nodes your job needs are reserved for a maintenance window. (Reserved for maintenance)"
    )
    nodes = slurm_reason("ReqNodeNotAvail, UnavailableNodes:n[1-4]")
    assert nodes is not None and nodes.words.endswith("(UnavailableNodes:n[1-4])")
    assert nodes.words.startswith("The nodes your job needs are not available")
    long_form = slurm_reason(
        "Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions"
    )
    assert long_form is not None and long_form.code == "ReqNodeNotAvail"


def test_an_unknown_code_is_shown_as_it_is_and_none_is_no_reason() -> None:
    reason = slurm_reason("SomeFutureReason")
    assert reason is not None and not reason.known
    assert (reason.code, reason.words) == ("SomeFutureReason", "SomeFutureReason")
    assert slurm_reason(None) is None and slurm_reason("  ") is None


def test_htcondor_idle_and_hold_reasons_read_in_the_same_words() -> None:
    recorded = (FIXTURES / "htcondor" / "condor_q_long_held_job_htcondor-9.9.0.txt").read_text()
    assert 'LastRejMatchReason = "no match found "' in recorded
    idle = condor_idle_reason("no match found ")
    assert idle is not None and idle.words == (
        "No machine in the pool currently matches what your job asks for."
    )
    odd = condor_idle_reason("a reason from a newer HTCondor")
    assert odd is not None and odd.words == "a reason from a newer HTCondor" and not odd.known
    assert condor_idle_reason(None) is None
    assert condor_hold_reason("Error: memory limit").words == (
        "Your job is on hold: it starts only once it is released (Error: memory limit)."
    )


def test_the_expected_start_in_words() -> None:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    assert when_words(None, now) == ""
    assert when_words(now + timedelta(minutes=35), now) == (
        "Expected to start at 14:35 UTC (in about 35 min)."
    )
    assert when_words(now - timedelta(minutes=1), now) == "Expected to start any moment now."
    assert when_words(now + timedelta(days=1), now) == (
        "Expected to start at 2026-11-28 14:00 UTC (in about 24 h)."
    )


# --- the scheduler's answers -----------------------------------------------------------
def recorded_squeue(tmp_path: Path, name: str) -> str:
    path = tmp_path / "squeue"
    fixture = FIXTURES / "slurm" / "json" / name
    path.write_text(
        f"#!{sys.executable} -I\nimport sys\nsys.stdout.write(open({str(fixture)!r}).read())\n"
    )
    path.chmod(0o755)
    return str(path)


def test_a_slurm_job_waiting_for_resources_has_its_reason_and_planned_start(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = make(tmp_path, fakes)
    spawner.squeue = recorded_squeue(
        tmp_path, "v0.0.38_slurm-22.05.8_squeue_json_pending_resources_start.json"
    )
    spawner.job_id = "354"
    status = asyncio.run(spawner.job_status())
    assert (status.state, status.detail) == ("pending", "Resources")
    assert status.reason is not None and status.reason.words.startswith("The nodes are busy")
    assert status.start == datetime.fromtimestamp(1795788934, UTC)


def test_a_slurm_job_waiting_for_its_begin_time(tmp_path: Path, fakes: Fakes) -> None:
    spawner = make(tmp_path, fakes)
    spawner.squeue = recorded_squeue(tmp_path, "v0.0.42_slurm-24.11.5_slurmrestd_job_pending.json")
    job = json.loads(
        (
            FIXTURES / "slurm" / "json" / "v0.0.42_slurm-24.11.5_slurmrestd_job_pending.json"
        ).read_text()
    )["jobs"][0]
    spawner.job_id = str(job["job_id"])
    status = asyncio.run(spawner.job_status())
    assert status.state == "pending"
    assert status.reason is not None and status.reason.code == "BeginTime"


def test_an_idle_htcondor_job_gives_the_negotiators_reason(
    condor: RecordedHTCondorSpawner, tmp_path: Path
) -> None:
    spawner = condor
    recorded = (FIXTURES / "htcondor" / "condor_q_long_held_job_htcondor-9.9.0.txt").read_text()
    idle = recorded.replace("JobStatus = 5\n", "JobStatus = 1\n")
    spawner.condor_q = fake_command(tmp_path, "condor_q", idle)
    spawner.job_id = "15872426.5189"
    status = asyncio.run(spawner.job_status())
    assert status.state == "pending"
    assert status.reason is not None
    assert status.reason.words == "No machine in the pool currently matches what your job asks for."

    spawner.condor_q = fake_command(tmp_path, "condor_q", recorded)
    held = asyncio.run(spawner.job_status())
    assert held.state == "gone"
    assert held.detail == (
        "Your job is on hold: it starts only once it is released (Error from "
        "slot1_3@e301.example.edu: Docker job has gone over memory limit of 16384 Mb)."
    )


# --- progress events and start instead ---------------------------------------------------
async def until(check: Any, what: str) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def waiting(tmp_path: Path, fakes: Fakes) -> SlurmSessionSpawner:
    session = make(tmp_path, fakes)
    session.pending_timeout = 1e9
    fakes.squeue_answers("PENDING Resources")
    return session


def test_progress_events_carry_the_reason_for_the_pending_page(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = waiting(tmp_path, fakes)

    async def scenario() -> list[dict[str, Any]]:
        start = asyncio.ensure_future(spawner.start())
        events: list[dict[str, Any]] = []

        async def listen() -> None:
            async for event in spawner.progress():
                events.append(event)
                if "sdcc" in event:
                    return

        await asyncio.wait_for(listen(), 10)
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        return events

    events = asyncio.run(scenario())
    last = events[-1]
    assert last["sdcc"] == {
        "job_id": "4242",
        "scheduler": "slurm",
        "partition": "cpu",
        "reason_code": "Resources",
        "reason": "The nodes are busy: your job starts as soon as enough of them are free.",
        "start": None,
    }
    assert last["message"] == (
        "Pending: Resources, job 4242 on partition cpu. "
        "The nodes are busy: your job starts as soon as enough of them are free."
    )
    # A cancelled start cancels its job and leaves no token file.
    assert fakes.calls("scancel") == [["4242"]]
    assert token_files(tmp_path) == []


def test_start_instead_submits_the_new_choice_then_cancels_the_first(
    tmp_path: Path, fakes: Fakes
) -> None:
    spawner = waiting(tmp_path, fakes)
    instead = {**OPTIONS, "partition": "gpu", "account": "tier3", "qos": "gpu-qos"}

    async def scenario() -> str:
        start = asyncio.ensure_future(spawner.start())
        await until(spawner.waiting, "the job to wait")
        [first_token] = token_files(tmp_path)
        fakes.sbatch_replies("0\n4343\n")
        new_job = await spawner.switch_job(instead)
        assert not first_token.exists()
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)
        return new_job

    assert asyncio.run(scenario()) == "4343"
    first, second = fakes.calls("sbatch")
    assert "--partition=cpu" in first and "--partition=gpu" in second
    assert "--qos=gpu-qos" in second and "--account=tier3" in second
    # The first job cancelled after the second was accepted; the second when the spawn ended.
    assert fakes.calls("scancel") == [["4242"], ["4343"]]
    assert spawner.user_options == instead


def test_a_refused_alternative_keeps_the_waiting_job(tmp_path: Path, fakes: Fakes) -> None:
    spawner = waiting(tmp_path, fakes)

    async def scenario() -> None:
        start = asyncio.ensure_future(spawner.start())
        await until(spawner.waiting, "the job to wait")
        fakes.sbatch_replies(
            "1\nsbatch: error: Batch job submission failed: Invalid qos specification\n"
        )
        with pytest.raises(Exception, match=r"Slurm refused the job: .*Invalid qos specification"):
            await spawner.switch_job({**OPTIONS, "qos": "gpu-qos"})
        assert spawner.job_id == "4242" and spawner.waiting()
        assert spawner.user_options == OPTIONS
        assert len(token_files(tmp_path)) == 1  # the waiting job's, nothing else
        assert fakes.calls("scancel") == []
        start.cancel()
        await asyncio.gather(start, return_exceptions=True)

    asyncio.run(scenario())


def test_start_instead_needs_a_waiting_job(tmp_path: Path, fakes: Fakes) -> None:
    spawner = make(tmp_path, fakes)
    with pytest.raises(JobNotWaiting) as e:
        asyncio.run(spawner.switch_job(dict(OPTIONS)))
    assert e.value.status_code == 409
    assert fakes.calls("sbatch") == []


# --- alternatives ------------------------------------------------------------------------
ALICE = Entitlements(
    user="alice",
    partitions=(
        PartitionChoice(
            name="cpu",
            accounts=(AccountChoice("physics", ("normal",), "normal", None),),
            max_minutes=None,
            default_minutes=60,
            gpu_types=(),
            gpus=0,
            is_default=True,
        ),
        PartitionChoice(
            name="gpu",
            accounts=(AccountChoice("tier3", ("normal", "gpu-qos"), "gpu-qos", None),),
            max_minutes=120,
            default_minutes=30,
            gpu_types=(),
            gpus=1,
        ),
    ),
    qos_max_minutes={"gpu-qos": 60},
    default_account="physics",
)


def test_candidates_are_the_users_other_choices_with_the_runtime_within_their_limits() -> None:
    current = {**OPTIONS, "partition": "cpu", "account": "physics", "qos": "normal", "runtime": 90}
    got = [
        (c["partition"], c["account"], c["qos"], c["runtime"])
        for c in candidate_options(current, ALICE)
    ]
    assert got == [("gpu", "tier3", "normal", 90), ("gpu", "tier3", "gpu-qos", 60)]
    assert choice_label(candidate_options(current, ALICE)[1]) == (
        "partition gpu, account tier3, QOS gpu-qos, 2 GPU (a100), 60 min"
    )


def test_only_a_scheduler_answer_that_is_really_sooner_is_offered() -> None:
    now = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    later = now + timedelta(minutes=30)
    assert sooner(StartEstimate(True, now, None, "slurm"), later, now)
    assert sooner(StartEstimate(True, now, None, "slurm"), None, now)
    assert sooner(StartEstimate(False, now + timedelta(minutes=10), None, "slurm"), later, now)
    assert not sooner(StartEstimate(False, later, None, "slurm"), later, now)
    assert not sooner(StartEstimate(True, None, None, "cached"), later, now)  # not Slurm's word
    assert not sooner(StartEstimate(False, None, "Invalid qos specification", "slurm"), None, now)
    assert not sooner(StartEstimate(True, now, None, "slurm"), now + timedelta(seconds=30), now)


def test_a_job_slurm_has_not_looked_at_yet_reads_as_queued(tmp_path: Path, fakes: Fakes) -> None:
    spawner = make(tmp_path, fakes)
    fakes.squeue_answers("PENDING None")  # squeue --json's state_reason right after sbatch
    spawner.job_id = "4242"
    status = asyncio.run(spawner.job_status())
    assert status.state == "pending" and status.reason is not None
    assert status.reason.words == (
        "Your job is queued and will be considered at the next scheduling pass."
    )
