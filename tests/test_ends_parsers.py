"""How a session's job ended: the parsers and the words, on recorded outputs (issue 13).

Slurm: ``sacct -nP`` of real jobs of every end kind — recorded on this project's
test cluster (Slurm 22.05.8, the portal's own field list, epoch and ISO times)
and older sites' outputs kept by gc3pie (Slurm 2.6.5 and 2013–2016 sites, another
field list, ``-p`` with its trailing ``|``); see tests/fixtures/SOURCES.md.

HTCondor: no pool can run here. The job ad of a real job held for going over
its memory (HTCondor 9.9.0, ``condor_q -long``) is recorded; the removed and
completed ads below are that same recorded ad with the attributes HTCondor sets
when it removes or completes a job (JobStatus, RemoveReason, ExitCode,
CompletionDate) changed: no public recording of ``condor_history -l`` for those
was found. They are marked so where they are built.
"""

from __future__ import annotations

import pwd
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from sdcc_lab.hub.ends import (
    SessionEnd,
    SessionEnds,
    end_message,
    end_words,
    form_fields,
    memory_suggestion,
    reason_words,
    size_words,
)
from sdcc_lab.scheduler.ends import JobEnd, condor_job_end, slurm_job_end
from sdcc_lab.scheduler.htcondor import HTCondorParseError, parse_classad
from sdcc_lab.scheduler.slurm.common import SlurmParseError
from sdcc_lab.scheduler.slurm.sacct import SACCT_FIELDS, parse_sacct

FIXTURES = Path(__file__).parent / "fixtures"
SACCT = FIXTURES / "slurm" / "sacct"
HELD_OVER_MEMORY = FIXTURES / "htcondor" / "condor_q_long_held_job_htcondor-9.9.0.txt"
# gc3pie's query: sacct --noheader --parsable --format jobid,exitcode,state,ncpus,elapsed,
# totalcpu,submit,start,end,maxrss,maxvmsize (SLURM_TIME_FORMAT=standard)
GC3PIE_FIELDS = (
    "JobID",
    "ExitCode",
    "State",
    "NCPUS",
    "Elapsed",
    "TotalCPU",
    "Submit",
    "Start",
    "End",
    "MaxRSS",
    "MaxVMSize",
)
UTC = timezone.utc
K, M, G = 1 << 10, 1 << 20, 1 << 30


def gc3pie_end(name: str) -> JobEnd:
    text = (SACCT / name).read_text()
    return slurm_job_end(parse_sacct(text, GC3PIE_FIELDS, tz=UTC), "123")


def live(name: str) -> tuple[JobEnd, JobEnd]:
    """A job recorded on the test cluster: its end from the epoch and from the ISO output."""
    epoch = (SACCT / f"slurm-22.05.8_{name}.epoch.txt").read_text()
    iso = (SACCT / f"slurm-22.05.8_{name}.iso.txt").read_text()
    job_id = epoch.split("|", 1)[0]
    return (
        slurm_job_end(parse_sacct(epoch), job_id),
        slurm_job_end(parse_sacct(iso, tz=UTC), job_id),
    )


# --- Slurm: older sites (gc3pie's recordings) --------------------------------------------


def test_a_timeout_is_the_time_limit_and_ends_when_slurm_says() -> None:
    end = gc3pie_end("gc3pie_2014_timeout.txt")
    assert (end.kind, end.state) == ("time_limit", "TIMEOUT")
    assert end.ended_at == datetime(2014, 12, 11, 17, 11, 34, tzinfo=UTC)
    # The batch step was CANCELLED by the time-out: the allocation's state decides.
    assert end.peak_memory_bytes == 0


def test_cancelled_by_a_uid_keeps_the_uid() -> None:
    end = gc3pie_end("gc3pie_2014_cancelled_by_1000.txt")
    assert (end.kind, end.cancelled_by, end.state) == ("cancelled", "1000", "CANCELLED by 1000")


def test_a_failed_node_is_said_even_when_a_step_was_cancelled() -> None:
    end = gc3pie_end("gc3pie_2016_node_fail.txt")
    assert end.kind == "node_fail"
    assert end.exit_code == 1
    assert end.peak_memory_bytes is None  # no step printed a MaxRSS


def test_a_failed_job_keeps_its_exit_code() -> None:
    end = gc3pie_end("gc3pie_2016_failed_exit_1.txt")
    assert (end.kind, end.exit_code, end.signal) == ("failed", 1, None)


def test_completed_jobs_peak_is_the_largest_steps_maxrss() -> None:
    assert gc3pie_end("gc3pie_slurm-2.6.5_completed.txt").peak_memory_bytes == 1612088 * K
    # Ten steps, one printed in M ("72.50M"): the largest is 74404K.
    end = gc3pie_end("gc3pie_2013_unige_completed_steps.txt")
    assert (end.kind, end.peak_memory_bytes) == ("completed", 74404 * K)


# --- Slurm 22.05.8: this project's cluster, the portal's own query -------------------------


def test_recorded_time_limit_on_the_gpu_partition() -> None:
    for end in live("timeout"):
        assert (end.kind, end.state, end.time_limit_seconds) == ("time_limit", "TIMEOUT", 60)
        assert end.ended_at is not None
    epoch, iso = live("timeout")
    assert epoch.ended_at == iso.ended_at


def test_recorded_out_of_memory_has_the_peak_over_the_limit() -> None:
    # OverMemoryKill (no cgroups) leaves no OUT_OF_MEMORY state: the job is FAILED 0:9,
    # its batch step "CANCELLED by 0" (slurmstepd), MaxRSS 624180K over ReqMem 200M;
    # slurmd logged "StepId=995.batch exceeded memory limit (639160320 > 209715200)".
    for end in live("oom"):
        assert (end.kind, end.state, end.signal) == ("out_of_memory", "FAILED", 9)
        assert end.memory_limit_bytes == 200 * M
        assert end.peak_memory_bytes == 624180 * K


def test_a_kill_within_the_memory_is_not_out_of_memory() -> None:
    # The same record with the peak under the limit: SIGKILL alone says nothing of memory.
    text = (SACCT / "slurm-22.05.8_oom.epoch.txt").read_text().replace("624180K", "150000K")
    end = slurm_job_end(parse_sacct(text), "995")
    assert (end.kind, end.signal) == ("failed", 9)
    text = text.replace("|FAILED|0:9|", "|OUT_OF_MEMORY|0:125|", 1)
    assert slurm_job_end(parse_sacct(text), "995").kind == "out_of_memory"


def test_recorded_cancellations_name_who() -> None:
    by_root, _ = live("cancelled_root")
    by_alice, _ = live("cancelled_user")
    assert (by_root.kind, by_root.cancelled_by) == ("cancelled", "0")
    assert (by_alice.kind, by_alice.cancelled_by) == (
        "cancelled",
        str(pwd.getpwnam("alice").pw_uid),
    )


def test_recorded_exit_codes() -> None:
    failed, _ = live("failed")
    completed, _ = live("completed")
    assert (failed.kind, failed.exit_code) == ("failed", 3)
    assert (completed.kind, completed.exit_code) == ("completed", 0)


# --- sacct's errors ------------------------------------------------------------------------


def row(**cells: str) -> str:
    """One line of the portal's sacct query with ``cells`` set (by field name), the rest empty."""
    return "|".join(cells.get(f, "") for f in SACCT_FIELDS) + "\n"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1|COMPLETED|0:0\n", "fields"),
        (row(State="COMPLETED"), "no JobID"),
        (row(JobID="1", State="COMPLETED", ExitCode="zero"), "ExitCode"),
        (row(JobID="1", State="COMPLETED", ReqMem="4 GB"), "ReqMem"),
        (row(JobID="1", State="COMPLETED", End="4 Sep 11:18"), "unreadable time"),
        (row(JobID="1", State=""), "State is empty"),
        (row(JobID="1", State="TIMEOUT", Timelimit="soon"), "duration"),
    ],
)
def test_unreadable_sacct_output_says_what(text: str, why: str) -> None:
    with pytest.raises(SlurmParseError, match=why):
        parse_sacct(text)


def test_a_job_without_its_allocation_row_is_refused() -> None:
    rows = parse_sacct(row(JobID="7.batch", State="COMPLETED"))
    with pytest.raises(SlurmParseError, match="no allocation row"):
        slurm_job_end(rows, "7")
    with pytest.raises(SlurmParseError, match="JobID and State"):
        parse_sacct("", ("JobID", "ExitCode"))


def test_per_cpu_memory_is_not_taken_for_the_jobs_limit() -> None:
    fields = ("JobID", "State", "ReqMem")
    assert (
        slurm_job_end(parse_sacct("5|OUT_OF_MEMORY|1000Mc\n", fields), "5").memory_limit_bytes
        is None
    )
    assert (
        slurm_job_end(parse_sacct("5|OUT_OF_MEMORY|4Gn\n", fields), "5").memory_limit_bytes == 4 * G
    )


# --- HTCondor ------------------------------------------------------------------------------


def held_ad() -> Any:
    return parse_classad(HELD_OVER_MEMORY.read_text())


def test_htcondor_held_over_memory_is_out_of_memory_with_its_peak() -> None:
    end = condor_job_end(held_ad())
    assert end.kind == "out_of_memory"
    assert (end.peak_memory_bytes, end.memory_limit_bytes) == (13275 * M, 16384 * M)
    assert end.ended_at == datetime.fromtimestamp(1653508218, UTC)
    assert "gone over memory limit" in (end.reason or "")


def test_htcondor_removed_and_completed() -> None:
    # Derived from the recorded ad (see the module's docstring).
    removed = held_ad()
    removed.update(JobStatus=3, HoldReasonCode=0, RemoveReason="via condor_rm (by user alice)")
    end = condor_job_end(removed)
    assert (end.kind, end.cancelled_by) == ("cancelled", "alice")

    done = held_ad()
    done.update(
        JobStatus=4, HoldReasonCode=0, ExitCode=0, ExitBySignal=False, CompletionDate=1653509000
    )
    end = condor_job_end(done)
    assert (end.kind, end.ended_at) == ("completed", datetime.fromtimestamp(1653509000, UTC))

    done.update(ExitBySignal=True, ExitSignal=9)
    assert (condor_job_end(done).kind, condor_job_end(done).signal) == ("failed", 9)

    held = held_ad()
    held.update(HoldReasonCode=13, HoldReason="Transfer input files failure")
    assert (condor_job_end(held).kind, condor_job_end(held).reason) == (
        "held",
        "Transfer input files failure",
    )


def test_htcondor_ad_without_a_status_is_refused() -> None:
    ad = held_ad()
    del ad["JobStatus"]
    with pytest.raises(HTCondorParseError, match="JobStatus"):
        condor_job_end(ad)
    ad = held_ad()
    ad["MemoryUsage"] = "lots"
    with pytest.raises(HTCondorParseError, match="MemoryUsage"):
        condor_job_end(ad)


# --- the words -----------------------------------------------------------------------------

GPU = {
    "local": False,
    "partition": "gpu",
    "account": "tier3",
    "qos": "gpu-qos",
    "gpu": "none",
    "gpus": 0,
    "runtime": 30,
    "cpus": None,
    "memory": 4096,
    "environment": "default",
}
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
AT = datetime(2026, 11, 27, 11, 28, tzinfo=UTC)


def record(end: JobEnd, options: dict[str, Any] = GPU, user: str = "alice") -> SessionEnd:
    return SessionEnd(user, "", "slurm", "77", end, dict(options))


def test_the_issues_two_sentences() -> None:
    assert end_message(record(JobEnd("time_limit", "TIMEOUT", AT)), NOW) == (
        "Your session on gpu (tier3, 30 min) ended at 11:28 UTC: it reached its time limit."
    )
    oom = JobEnd(
        "out_of_memory",
        "OUT_OF_MEMORY",
        AT,
        peak_memory_bytes=round(4.1 * G),
        memory_limit_bytes=4 * G,
    )
    assert end_message(record(oom), NOW) == (
        "Your session on gpu (tier3, 30 min) ended at 11:28 UTC: it was stopped because it "
        "used more than its 4 GiB of memory (peak 4.1 GiB)."
    )


def test_each_kind_has_its_words() -> None:
    alice = str(pwd.getpwnam("alice").pw_uid)
    said = {
        "cancelled by root": reason_words(
            JobEnd("cancelled", "CANCELLED by 0", cancelled_by="0"), "alice", GPU
        ),
        "cancelled by alice": reason_words(
            JobEnd("cancelled", "x", cancelled_by=alice), "alice", GPU
        ),
        "cancelled": reason_words(JobEnd("cancelled", "removed"), "alice", GPU),
        "node": reason_words(JobEnd("node_fail", "NODE_FAIL"), "alice", GPU),
        "failed": reason_words(JobEnd("failed", "FAILED", exit_code=3), "alice", GPU),
        "signal": reason_words(JobEnd("failed", "FAILED", signal=9), "alice", GPU),
        "held": reason_words(JobEnd("held", "held (code 13)", reason="no input"), "alice", GPU),
        "oom no peak": reason_words(JobEnd("out_of_memory", "OUT_OF_MEMORY"), "alice", GPU),
        "oom nothing": reason_words(JobEnd("out_of_memory", "OUT_OF_MEMORY"), "alice", {}),
        "other": reason_words(JobEnd("unknown", "SPECIAL_EXIT"), "alice", GPU),
    }
    assert said == {
        "cancelled by root": "it was cancelled by an administrator.",
        "cancelled by alice": "it was cancelled by you.",
        "cancelled": "it was cancelled.",
        "node": "the node it ran on failed.",
        "failed": "JupyterLab stopped with an error (exit code 3).",
        "signal": "JupyterLab was killed (signal 9).",
        "held": "HTCondor put it on hold: no input",
        "oom no peak": "it was stopped because it used more than its 4 GiB of memory.",
        "oom nothing": "it was stopped because it used more memory than it was given.",
        "other": "the scheduler says SPECIAL_EXIT.",
    }


def test_where_and_when_words() -> None:
    yesterday = JobEnd("time_limit", "TIMEOUT", datetime(2026, 11, 26, 23, 5, tzinfo=UTC))
    htcondor = SessionEnd(
        "alice", "", "htcondor", "9", yesterday, {"partition": "htcondor", "runtime": 60}
    )
    assert end_message(htcondor, NOW).startswith(
        "Your session on htcondor (60 min) ended at 2026-11-26 23:05 UTC:"
    )
    nowhere = SessionEnd("alice", "", "slurm", "9", JobEnd("unknown", "gone"), {})
    assert end_message(nowhere, NOW) == (
        "Your session on Slurm batch job ended at an unknown time: the scheduler says gone."
    )
    assert [size_words(n) for n in (512 * M, 4 * G, round(4.1 * G), 100)] == [
        "512 MiB",
        "4 GiB",
        "4.1 GiB",
        "1 MiB",
    ]


def test_start_again_posts_the_recorded_options_as_the_form_would() -> None:
    assert form_fields(GPU) == [
        ("partition", "gpu"),
        ("account", "tier3"),
        ("qos", "gpu-qos"),
        ("gpu", "none"),
        ("gpus", "0"),
        ("runtime", "30"),
        ("memory", "4096"),
        ("environment", "default"),
    ]
    assert form_fields({"local": True, "environment": "default"}) == [
        ("local", "true"),
        ("environment", "default"),
    ]


def test_more_memory_is_suggested_within_the_limit() -> None:
    oom = JobEnd(
        "out_of_memory", "OUT_OF_MEMORY", peak_memory_bytes=round(4.1 * G), memory_limit_bytes=4 * G
    )
    assert memory_suggestion(oom, GPU, None) == 9 * 1024  # twice the peak, whole GiB
    assert memory_suggestion(oom, GPU, 6000) == 6000  # the user's limit
    assert memory_suggestion(oom, GPU, 4096) is None  # no more to be had
    assert memory_suggestion(JobEnd("time_limit", "TIMEOUT"), GPU, None) is None
    assert memory_suggestion(JobEnd("out_of_memory", "OUT_OF_MEMORY"), {}, None) is None


# --- the store -----------------------------------------------------------------------------


def test_the_store_keeps_one_end_per_user_across_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'presets.sqlite'}"
    first = SessionEnds(create_engine(url))
    first.record(record(JobEnd("time_limit", "TIMEOUT", AT)))
    first.record(record(JobEnd("cancelled", "CANCELLED by 0", AT, cancelled_by="0")))
    first.record(record(JobEnd("failed", "FAILED", AT, exit_code=1), user="bob"))
    first.engine.dispose()

    again = SessionEnds(create_engine(url))  # a restarted hub
    alice = again.latest("alice")
    assert alice is not None and alice.end.kind == "cancelled" and alice.options == GPU
    assert end_words(alice, NOW)["message"].endswith("cancelled by an administrator.")
    assert again.latest("alice", "other-server") is None
    assert again.clear("alice") and not again.clear("alice")
    assert again.latest("alice") is None
    assert again.latest("bob") is not None
    with sqlite3.connect(tmp_path / "presets.sqlite") as db:
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert "sdcc_lab_session_ends" in tables


def test_an_unknown_kind_read_back_is_unknown() -> None:
    end = JobEnd.from_json(
        {"kind": "exploded", "state": "X", "ended_at": AT.isoformat(), "extra": 1}
    )
    assert (end.kind, end.ended_at) == ("unknown", AT)
