"""The hub's Extend policy (``sdcc_lab.hub.extend.Extender``), every refusal.

The scheduler's answers are a recorded ``scontrol show job -o`` of a running
session job on the test cluster (tests/fixtures/SOURCES.md), with its
``TimeLimit``/``EndTime`` moved as ``scontrol update`` would; commands that
fail are stand-in executables run through the real command layer. The whole
path on the real cluster is tests/test_extend_slurm.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sdcc_lab.hub.entitlements import AccountChoice, Entitlements, PartitionChoice
from sdcc_lab.hub.extend import HTCONDOR_UNAVAILABLE, Extender, ExtendPolicy, Refused
from sdcc_lab.scheduler.errors import SchedulerUnavailable

FIXTURE = (
    Path(__file__).parent
    / "fixtures/slurm/scontrol_show_job_oneline/slurm-22.05.8_sdcclab_running_gpu.txt"
)
RECORDED = FIXTURE.read_text()
START = datetime.fromisoformat("2026-11-27T14:23:51").astimezone()

ALICE = Entitlements(
    user="alice",
    partitions=(
        PartitionChoice(
            name="gpu",
            accounts=(AccountChoice("tier3", ("gpu-qos",), "gpu-qos", None),),
            max_minutes=120,
            default_minutes=30,
            gpu_types=(),
            gpus=1,
        ),
    ),
    qos_max_minutes={"gpu-qos": 60},
)


class FakeSlurm:
    """Answers like the recorded job; ``scontrol update`` moves its limit."""

    def __init__(self, state: str = "RUNNING", pending: str = "") -> None:
        self.limit = 10
        self.state = state
        self.pending = pending
        self.calls: list[list[str]] = []

    async def run(self, argv: list[str]) -> str:
        self.calls.append(argv)
        if argv[1:3] == ["show", "job"]:
            end = (START + timedelta(minutes=self.limit)).strftime("%Y-%m-%dT%H:%M:%S")
            hours, minutes = divmod(self.limit, 60)
            line = RECORDED.replace("TimeLimit=00:10:00", f"TimeLimit={hours:02d}:{minutes:02d}:00")
            line = re.sub(r"EndTime=\S+", f"EndTime={end}", line)
            return line.replace("JobState=RUNNING", f"JobState={self.state}")
        if argv[1] == "update":
            self.limit = int(argv[3].split("=")[1])
            return ""
        if argv[0].endswith("squeue"):
            return self.pending
        raise AssertionError(f"unexpected command {argv}")

    def updates(self) -> list[list[str]]:
        return [a for a in self.calls if a[1:2] == ["update"]]


def session(
    user: str = "alice",
    scheduler: str = "slurm",
    used: int = 0,
    entitlements: Entitlements = ALICE,
) -> tuple[Any, Any]:
    async def user_entitlements() -> Entitlements:
        return entitlements

    spawner = SimpleNamespace(
        user=SimpleNamespace(name=user),
        extensions_used=used,
        user_entitlements=user_entitlements,
    )
    return spawner, SimpleNamespace(session_scheduler=scheduler, job_id="478")


def extender(fake: FakeSlurm | None = None, **policy: Any) -> Extender:
    return Extender(ExtendPolicy(**policy), logging.getLogger("test"), fake.run if fake else None)


def refused(e: Extender, spawner: Any, batch: Any, minutes: int) -> Refused:
    with pytest.raises(Refused) as caught:
        asyncio.run(e.extend(spawner, batch, minutes))
    return caught.value


def test_an_extension_updates_the_limit_as_the_hub_and_counts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeSlurm()
    spawner, batch = session()
    with caplog.at_level(logging.INFO, logger="test"):
        result = asyncio.run(extender(fake).extend(spawner, batch, 10))
    assert fake.updates() == [["/usr/bin/scontrol", "update", "JobId=478", "TimeLimit=20"]]
    assert result.limit_seconds == 1200
    assert result.end == START + timedelta(minutes=20)
    assert spawner.extensions_used == 1
    assert "EXTEND alice's slurm job 478 by 10 min: limit now 20 min (extension 1 of 2)" in (
        caplog.text
    )


@pytest.mark.parametrize(
    "minutes, policy, used, status, message",
    [
        (61, {}, 0, 403, "at most 60 min can be added at a time"),
        (10, {}, 2, 403, "This session was extended 2 times, the most allowed."),
        (10, {"max_extensions": 0}, 0, 403, "Extending sessions is off at this site."),
        (
            55,
            {},
            0,
            403,
            "10 + 55 min would pass the 60 min limit of QOS gpu-qos: at most 50 min more",
        ),
    ],
)
def test_beyond_the_policy_is_refused_and_nothing_is_updated(
    minutes: int, policy: dict[str, Any], used: int, status: int, message: str
) -> None:
    fake = FakeSlurm()
    spawner, batch = session(used=used)
    e = refused(extender(fake, **policy), spawner, batch, minutes)
    assert (e.status, str(e)) == (status, message)
    assert fake.updates() == []
    assert spawner.extensions_used == used


def test_at_the_limit_no_more_time_can_be_added() -> None:
    fake = FakeSlurm()
    fake.limit = 60
    e = refused(extender(fake), *session(), 1)
    assert (
        str(e) == "60 + 1 min would pass the 60 min limit of QOS gpu-qos: no more time can be added"
    )


def test_waiting_jobs_in_the_partition_refuse_it_when_the_site_says_so() -> None:
    fake = FakeSlurm(pending="480\n481\n")
    e = refused(extender(fake, refuse_while_pending=True), *session(), 10)
    assert (e.status, str(e)) == (
        403,
        "partition gpu has 2 jobs waiting: no extensions until they start",
    )
    assert ["/usr/bin/squeue", "-h", "-p", "gpu", "-t", "PENDING", "-o", "%i"] in fake.calls
    assert fake.updates() == []
    # Nothing waiting: extended. Without the setting the queue is not even asked.
    fake = FakeSlurm(pending="")
    asyncio.run(extender(fake, refuse_while_pending=True).extend(*session(), 10))
    assert len(fake.updates()) == 1
    fake = FakeSlurm(pending="480\n")
    asyncio.run(extender(fake).extend(*session(), 10))
    assert not any(a[0].endswith("squeue") for a in fake.calls)


def test_a_job_that_no_longer_runs_or_is_not_the_users_is_left_alone() -> None:
    fake = FakeSlurm(state="COMPLETED")
    e = refused(extender(fake), *session(), 10)
    assert (e.status, str(e)) == (409, "job 478 is completed, not running")
    fake = FakeSlurm()
    e = refused(extender(fake), *session(user="bob"), 10)
    assert (e.status, str(e)) == (403, "job 478 is not bob's")
    assert fake.updates() == []


def test_a_partition_the_user_may_no_longer_use_is_refused() -> None:
    fake = FakeSlurm()
    e = refused(extender(fake), *session(entitlements=Entitlements(user="alice")), 10)
    assert (e.status, str(e)) == (403, "you may no longer use partition gpu")
    assert fake.updates() == []


def test_entitlements_slurm_cannot_give_are_a_503() -> None:
    fake = FakeSlurm()
    spawner, batch = session()

    async def failing() -> Entitlements:
        raise SchedulerUnavailable("sacctmgr did not answer within 30 s")

    spawner.user_entitlements = failing
    e = refused(extender(fake), spawner, batch, 10)
    assert (e.status, str(e)) == (
        503,
        "the scheduler did not answer: sacctmgr did not answer within 30 s",
    )


def test_slurm_refusing_the_hubs_update_is_a_503_in_slurms_words(tmp_path: Path) -> None:
    """The hub's account without Slurm's operator level (the admin guide's privilege).

    The stand-in says what Slurm 22.05's scontrol said on the test cluster when a
    user (not an operator) raised their own job's limit (exit 1, on stderr).
    """
    scontrol = tmp_path / "scontrol"
    scontrol.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = show ]; then cat {FIXTURE}; exit 0; fi\n'
        'echo "Access/permission denied for job 478" >&2\nexit 1\n'
    )
    scontrol.chmod(0o755)
    spawner, batch = session()
    e = refused(extender(scontrol=str(scontrol)), spawner, batch, 10)
    assert (e.status, str(e)) == (
        503,
        "scontrol refused: Access/permission denied for job 478",
    )
    assert spawner.extensions_used == 0


def test_a_missing_scontrol_is_a_503() -> None:
    e = refused(extender(scontrol="/nonexistent/scontrol"), *session(), 10)
    assert e.status == 503
    assert str(e).startswith("the scheduler did not answer: cannot run scontrol")


def test_htcondor_sessions_are_not_extended_unless_the_site_names_the_attribute() -> None:
    spawner, batch = session(scheduler="htcondor")
    e = refused(extender(FakeSlurm()), spawner, batch, 10)
    assert (e.status, str(e)) == (409, HTCONDOR_UNAVAILABLE)
    assert str(e) == "Extend is not available for HTCondor sessions at this site."


def test_with_the_attribute_htcondor_sessions_get_condor_qedit() -> None:
    calls: list[list[str]] = []
    owner = "alice"

    async def run(argv: list[str]) -> str:
        calls.append(argv)
        if argv[0].endswith("condor_q"):
            return f"3600 1795000000 {owner}\n"
        return 'Set attribute "AllowedJobDuration" for 1 matching jobs.\n'

    htc = Entitlements(
        user="alice",
        htcondor=PartitionChoice("htcondor", (), 480, 60, (), 0),
    )
    policy = ExtendPolicy(htcondor_runtime_attribute="AllowedJobDuration")
    spawner, batch = session(scheduler="htcondor", entitlements=htc)
    result = asyncio.run(
        Extender(policy, logging.getLogger("test"), run).extend(spawner, batch, 30)
    )
    assert calls[-1] == ["/usr/bin/condor_qedit", "478", "AllowedJobDuration", "5400"]
    assert result.limit_seconds == 5400
    assert result.end is not None and result.end.timestamp() == 1795000000 + 5400
    owner = "bob"
    e = refused(
        Extender(policy, logging.getLogger("test"), run), *session("alice", "htcondor", 0, htc), 30
    )
    assert (e.status, str(e)) == (403, "job 478 is not alice's")
    e = refused(
        Extender(policy, logging.getLogger("test"), run), *session("alice", "htcondor", 0, htc), 500
    )
    assert e.status == 403  # over max_minutes (60)


def test_a_local_session_cannot_be_extended() -> None:
    e = refused(extender(FakeSlurm()), *session(scheduler="local"), 10)
    assert (e.status, str(e)) == (409, "local sessions cannot be extended")


def test_the_panel_is_offered_the_choices_up_to_the_maximum() -> None:
    assert ExtendPolicy().choices() == [15, 30, 60]
    assert ExtendPolicy(max_minutes=45).choices() == [15, 30, 45]
    assert ExtendPolicy(max_minutes=10).choices() == [10]
    assert ExtendPolicy(max_minutes=120, minute_choices=[60, 10]).choices() == [10, 60, 120]
