"""Tests of sdcc_lab.scheduler.htcondor against recorded HTCondor 8.9 to 23.x outputs.

Fixtures live in tests/fixtures/htcondor (sources in tests/fixtures/SOURCES.md).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from sdcc_lab.scheduler.htcondor import (
    ClassAd,
    CondorJob,
    HTCondorParseError,
    get,
    job_from_ad,
    parse_classad,
    parse_classads,
    parse_condor_submit_output,
)

FIXTURES = Path(__file__).parent / "fixtures" / "htcondor"
UTC = timezone.utc


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


HELD = "condor_q_long_held_job_htcondor-9.9.0.txt"
SLOTS = "condor_status_long_static_slots_htcondor-8.9.12.ads"


# --------------------------------------------------------------------------- ClassAds


def test_classad_held_job_values() -> None:
    ad = parse_classad(text(HELD))
    assert isinstance(ad, ClassAd)
    assert ad["ClusterId"] == 15872426 and ad["ProcId"] == 5189
    assert ad["JobStatus"] == 5
    assert ad["RequestCpus"] == 4 and ad["RequestMemory"] == 16384
    assert ad["RequestDisk"] == 2097152
    assert ad["BytesRecvd"] == 31572840.0 and isinstance(ad["BytesRecvd"], float)
    assert ad["NetworkInputMb"] == pytest.approx(0.001076)
    assert ad["ActivationTeardownDuration"] == -8382063121022416774
    assert ad["EncryptExecuteDirectory"] is False and ad["IsCHTCSubmit"] is True
    assert ad["Owner"] == "user01"
    assert ad["Environment"] == ""
    assert ad["HoldReason"] == (
        "Error from slot1_3@e301.example.edu: Docker job has gone over memory limit of 16384 Mb"
    )
    assert (
        ad["CondorVersion"]
        == "$CondorVersion: 9.9.0 2022-05-09 BuildID: 586544 PackageID: 9.9.0-0.586544 RC $"
    )
    # escaped quotes inside a string literal
    assert str(ad["JOBGLIDEIN_ResourceName"]).startswith("$$([IfThenElse(")
    assert '"Local Job"' in str(ad["JOBGLIDEIN_ResourceName"])
    # expressions and nested ads stay raw
    assert str(ad["Requirements"]).startswith("(Target.CanRunLongJobs =?= true)")
    assert ad["NumHoldsByReason"] == "[ JobOutOfResources = 1 ]"
    assert ad["TransferOutputStats"] == "[  ]"
    assert len(ad) == 135


def test_classad_case_insensitive_lookup() -> None:
    ad = parse_classad(text(HELD))
    assert ad["requestcpus"] == ad["REQUESTCPUS"] == 4
    assert "requestmemory" in ad and "RequestGPUs" not in ad
    assert ad.get("holdreasoncode") == 34
    assert ad.get("RequestGPUs", 0) == 0
    assert get(ad, "OWNER") == "user01"
    assert get({"RequestCpus": 2}, "requestcpus") == 2
    assert get({"RequestCpus": 2}, "RequestGPUs", 7) == 7
    assert "RequestCpus" in list(ad)  # names kept as printed


def test_classad_mapping_operations_keep_index() -> None:
    ad = ClassAd([("RequestCpus", 1)])
    ad["requestcpus"] = 2  # same attribute, other case
    assert len(ad) == 1 and ad["RequestCpus"] == 2
    ad.update({"Owner": "a"})
    assert ad["owner"] == "a"
    assert ad.pop("OWNER") == "a" and "owner" not in ad
    assert ad.pop("missing", None) is None
    del ad["REQUESTCPUS"]
    assert len(ad) == 0
    with pytest.raises(KeyError):
        ad.pop("missing")


def test_classad_value_kinds() -> None:
    ad = parse_classad(
        'A = TRUE\nB = False\nC = UNDEFINED\nD = "a \\"q\\" \\\\ b"\nE = 1.5e3\n'
        'F = "x" + "y"\nG = {"a", "b"}\nH=7\nI = error\nJ = -3\nK = "ends with \\"quote\\""\n'
    )
    assert ad["A"] is True and ad["B"] is False and ad["C"] is None
    assert ad["D"] == 'a "q" \\ b'
    assert ad["E"] == 1500.0
    assert ad["F"] == '"x" + "y"'
    assert ad["G"] == '{"a", "b"}'
    assert ad["H"] == 7 and ad["J"] == -3
    assert ad["I"] == "error"
    assert ad["K"] == 'ends with "quote"'


def test_classads_condor_status_slots() -> None:
    ads = parse_classads(text(SLOTS))
    assert len(ads) == 8
    assert [a["Name"] for a in ads] == [f"slot{i}@exechost.localdomain" for i in range(1, 9)]
    for ad in ads:
        assert ad["Cpus"] == 1 and ad["DetectedCpus"] == 8 and ad["DetectedMemory"] == 15661
        assert ad["Memory"] == 1957
        assert ad["MyType"] == "Machine"
        assert get(ad, "gpus") is None  # no GPU slots in this pool
    first = ads[0]
    assert first["LoadAvg"] == 0.59
    assert first["CpuBusy"] == "((LoadAvg - CondorLoadAvg) >= 0.5)"
    assert first["MachineMaxVacateTime"] == "10 * 60"
    assert str(first["AddressV1"]).startswith('{[ p="primary"; a="10.0.0.3"')


def test_classads_skips_banner_and_extra_blank_lines() -> None:
    ads = parse_classads("-- Schedd: ap : <1.2.3.4>\n\n\nA = 1\n\n\n\nA = 2\nB = 3\n\n")
    assert [dict(a) for a in ads] == [{"A": 1}, {"A": 2, "B": 3}]
    assert parse_classads("") == []


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "\n\n",
        "A = 1\n\nB = 2\n",  # two ads where one is expected
        "this is not an ad",
        "A = 1\n= 2\n",
        "A =\n",
        "1A = 2\n",
        "Traceback (most recent call last):\n",
    ],
)
def test_classad_malformed(bad: str) -> None:
    with pytest.raises(HTCondorParseError):
        parse_classad(bad)


def test_classad_truncated_fixture() -> None:
    raw = text(HELD)
    cut = raw[: raw.index("RequestMemory = 16384") + len("RequestMem")]
    with pytest.raises(HTCondorParseError, match="line"):
        parse_classad(cut)


def test_classad_wrong_type() -> None:
    with pytest.raises(HTCondorParseError):
        parse_classad(b"A = 1")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- job ads


def test_job_from_held_ad() -> None:
    job = job_from_ad(parse_classad(text(HELD)))
    assert job == CondorJob(
        job_id="15872426.5189",
        owner="user01",
        status="HELD",
        hold_reason="Error from slot1_3@e301.example.edu: Docker job has gone over memory limit of 16384 Mb",
        request_cpus=4,
        request_memory_bytes=16384 << 20,
        request_gpus=0,  # no RequestGpus in the ad
        start_time=datetime(2022, 5, 25, 19, 28, 49, tzinfo=UTC),  # JobCurrentStartDate 1653506929
        allowed_job_duration_seconds=None,
        remote_host=None,  # held: only LastRemoteHost remains
        allowed_execute_duration_seconds=1209600,
        last_rej_match_reason="no match found ",
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, "IDLE"),
        (2, "RUNNING"),
        (3, "REMOVED"),
        (4, "COMPLETED"),
        (5, "HELD"),
        (6, "TRANSFERRING_OUTPUT"),
        (7, "SUSPENDED"),
    ],
)
def test_job_status_codes(code: int, status: str) -> None:
    ad = parse_classad(f"ClusterId = 3\nProcId = 0\nJobStatus = {code}\n")
    assert job_from_ad(ad).status == status


def test_job_running_with_gpus() -> None:
    ad = parse_classad(
        'ClusterId = 42\nProcId = 1\nJobStatus = 2\nOwner = "alice"\nRequestCpus = 2\n'
        "RequestMemory = 4096\nRequestGPUs = 1\nJobCurrentStartDate = 1700000000\n"
        'AllowedJobDuration = 7200\nRemoteHost = "slot1_1@gpu01.example.edu"\n'
    )
    job = job_from_ad(ad)
    assert job.job_id == "42.1" and job.status == "RUNNING" and job.owner == "alice"
    assert job.request_cpus == 2 and job.request_memory_bytes == 4 << 30 and job.request_gpus == 1
    assert job.start_time == datetime.fromtimestamp(1700000000, UTC)
    assert job.allowed_job_duration_seconds == 7200
    assert job.remote_host == "slot1_1@gpu01.example.edu"
    assert job.hold_reason is None


def test_job_unevaluated_requests_and_idle_start() -> None:
    ad = parse_classad(
        "ClusterId = 1\nProcId = 0\nJobStatus = 1\n"
        "RequestMemory = ifthenelse(MemoryUsage =!= undefined, MemoryUsage, 2048)\n"
        "RequestGPUs = RequestedGPUs\nJobCurrentStartDate = 0\n"
    )
    job = job_from_ad(ad)
    assert job.request_memory_bytes is None and job.request_gpus is None
    assert job.start_time is None and job.request_cpus is None


@pytest.mark.parametrize(
    ("ad", "message"),
    [
        ({"ProcId": 0, "JobStatus": 1}, "ClusterId"),
        ({"ClusterId": 1, "JobStatus": 1}, "ProcId"),
        ({"ClusterId": 1, "ProcId": 0}, "JobStatus"),
        ({"ClusterId": "1", "ProcId": 0, "JobStatus": 1}, "ClusterId"),
        ({"ClusterId": 1, "ProcId": 0, "JobStatus": 9}, "JobStatus 9"),
        ({"ClusterId": 1, "ProcId": 0, "JobStatus": True}, "JobStatus"),
        ({"ClusterId": 1, "ProcId": 0, "JobStatus": 1, "RequestCpus": True}, "RequestCpus"),
    ],
)
def test_job_from_ad_missing_or_wrong(ad: dict[str, object], message: str) -> None:
    with pytest.raises(HTCondorParseError, match=message):
        job_from_ad(ad)


def test_job_from_ad_not_a_mapping() -> None:
    with pytest.raises(HTCondorParseError):
        job_from_ad(["ClusterId"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- condor_submit / condor_q


def test_submit_output_dag_fixture() -> None:
    assert (
        parse_condor_submit_output(text("condor_submit_dag_output_htcondor-23.x_chtc.txt"))
        == "562265"
    )


@pytest.mark.parametrize(
    ("output", "cluster"),
    [
        ("Submitting job(s)...\n3 job(s) submitted to cluster 1234.\n", "1234"),
        ("1234.0 - 1234.0\n", "1234"),
        ("77.0 - 77.4\n", "77"),
    ],
)
def test_submit_output_forms(output: str, cluster: str) -> None:
    assert parse_condor_submit_output(output) == cluster


@pytest.mark.parametrize(
    "output",
    [
        "",
        "ERROR: on Line 3 of submit file:\nSubmitting job(s)\n",
        "1 job(s) submitted to cluster 5.\n1 job(s) submitted to cluster 6.\n",
        "5.0 - 6.0\n",
        "job submitted to cluster five.",
    ],
)
def test_submit_output_rejects(output: str) -> None:
    with pytest.raises(HTCondorParseError, match="cluster"):
        parse_condor_submit_output(output)
