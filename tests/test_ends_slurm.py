"""A session that ended, said at the next visit: real jobs on the real Slurm test cluster.

A real ``sdcc-lab demo`` portal runs alice's sessions as Slurm jobs, and each
ends the way it would at a site: its time limit (a 1-minute session), its
memory (the cluster kills a step over its ``--mem``: ``JobAcctGatherParams=
OverMemoryKill``, see scripts/slurm/cluster.sh) and an administrator's
``scancel`` (as root). What alice reads is checked where she reads it: the
home page's HTML and the spawn form, and what "Start again" submits is checked
with ``scontrol show job``. CI starts the cluster first: if it does not answer,
these tests fail rather than skip. Run them holding /tmp/sdcc-slurm.lock (they
cancel alice's and bob's jobs).
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from conftest import Portal, _start_portal
from hubclient import HubClient, run_code
from test_slurm_portal import jobs_of, logged_in, scontrol_job, slurm, wait_until

pytestmark = [pytest.mark.hub, pytest.mark.slurm, pytest.mark.slow]

EXTRA_CONFIG = """
c.SlurmSessionSpawner.status_interval = 1
# The hub finds an ended job within seconds (JupyterHub's default is 30 s).
c.Spawner.poll_interval = 5
c.JupyterHub.cleanup_servers = False
"""
GPU_1_MIN = {"partition": "gpu", "account": "tier3", "qos": "gpu-qos", "gpu": "none", "runtime": 1}


def cancel_all() -> None:
    for user in ("alice", "bob"):
        for job in slurm("/usr/bin/squeue", "-h", "-u", user, "-o", "%i").split():
            subprocess.run(["/usr/bin/scancel", job], check=False)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    try:
        slurm("/usr/bin/scontrol", "ping")
    except (subprocess.SubprocessError, OSError) as e:
        pytest.fail(f"the Slurm test cluster does not answer (scripts/slurm/cluster.sh up): {e}")
    config = slurm("/usr/bin/scontrol", "show", "config")
    assert re.search(r"JobAcctGatherParams\s*=\s*OverMemoryKill", config), (
        "the test cluster does not kill jobs over their memory: bring it up again with "
        "scripts/slurm/cluster.sh (JobAcctGatherParams=OverMemoryKill)"
    )
    cancel_all()
    folder = tmp_path_factory.mktemp("ends-portal")
    extra = folder / "extra_config.py"
    extra.write_text(EXTRA_CONFIG)
    started = _start_portal(folder / "data", args=("--config", str(extra)))
    yield started
    started.stop()
    cancel_all()


def start_session(alice: HubClient, **options: Any) -> str:
    """Start alice's session through the hub's REST API; return its job id once it runs."""
    r = alice.hub_api("POST", "users/alice/server", json=options)
    assert r.status_code in (201, 202), r.text
    alice.wait_ready(180)
    [job] = jobs_of("alice")
    return job


def sacct(job: str, field: str) -> str:
    return slurm("/usr/bin/sacct", "-nP", "-X", "-j", job, f"--format={field}").strip()


def wait_ended(alice: HubClient, job: str, timeout: float) -> None:
    """The job left RUNNING and the hub no longer counts alice's server."""
    wait_until(
        lambda: sacct(job, "State") not in ("RUNNING", "PENDING", "COMPLETING", ""),
        timeout,
        f"job {job} to end",
    )
    wait_until(
        lambda: alice.hub_api("GET", "users/alice").json()["servers"] == {},
        30,
        "the hub to see alice's server gone",
    )


def home(alice: HubClient) -> str:
    r = alice.session.get(alice.url + "hub/home")
    assert r.status_code == 200, r.text[:500]
    return r.text


def message_of(page: str) -> str:
    match = re.search(r'<p id="sdcc-session-end-message">(.*?)</p>', page, re.S)
    assert match, "the page says nothing about the last session"
    return html.unescape(match.group(1)).strip()


def end_time(job: str) -> str:
    """Slurm's end time of ``job`` as the portal says it ("11:28 UTC")."""
    end = int(
        subprocess.run(
            ["/usr/bin/sacct", "-nP", "-X", "-j", job, "--format=End"],
            check=True,
            capture_output=True,
            text=True,
            env={"SLURM_TIME_FORMAT": "%s", "PATH": "/usr/bin:/bin"},
        ).stdout.strip()
    )
    return f"{datetime.fromtimestamp(end, timezone.utc):%H:%M} UTC"


def start_again_fields(page: str) -> dict[str, str]:
    """The fields of the home page's "Start again" form, as a browser would post them."""
    form = re.search(
        r'<form method="post"\s+action="/hub/spawn/alice"\s+class="d-inline">(.*?)</form>',
        page,
        re.S,
    )
    assert form, "the home page has no Start again form"
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(1))
    }


def test_a_session_at_its_time_limit_is_said_and_starts_again_the_same(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    job = start_session(alice, **GPU_1_MIN)
    wait_ended(alice, job, 150)
    assert sacct(job, "State") == "TIMEOUT"

    expected = (
        f"Your session on gpu (tier3, 1 min) ended at {end_time(job)}: it reached its time limit."
    )
    page = home(alice)
    assert message_of(page) == expected
    assert "Start again with the same options" in page and "Choose other options" in page
    form = alice.session.get(alice.url + "hub/spawn/alice").text
    assert message_of(form) == expected
    # The form is the ended session's, pre-filled.
    assert '<option value="gpu" selected>' in form
    assert '<option value="gpu-qos" selected>' in form

    fields = start_again_fields(page)
    assert {k: fields[k] for k in ("partition", "account", "qos", "runtime")} == {
        "partition": "gpu",
        "account": "tier3",
        "qos": "gpu-qos",
        "runtime": "1",
    }
    r = alice.session.post(alice.url + "hub/spawn/alice", data=fields)
    assert r.status_code == 200, r.text[-1000:]
    alice.wait_ready(180)
    [again] = jobs_of("alice")
    assert again != job
    info = scontrol_job(again)
    assert (info["Partition"], info["Account"], info["QOS"], info["TimeLimit"]) == (
        "gpu",
        "tier3",
        "gpu-qos",
        "00:01:00",
    )
    # Started again: the message has served.
    assert alice.hub_api("GET", "sdcc-lab/session-end").json() == {"end": None}
    alice.stop_server()
    wait_until(lambda: again not in jobs_of("alice"), 30, f"job {again} to leave the queue")
    assert 'id="sdcc-session-end"' not in home(alice), "a stop from the hub is not an ending"


def allocate(alice: HubClient, mib: int) -> None:
    """Fill ``mib`` MiB in a kernel of alice's session (its job is killed meanwhile)."""
    code = f"import time\nx = b'x' * ({mib} * 2**20)\ntime.sleep(60)\n"

    def run() -> None:
        # The kernel dies with its job: that is the test.
        with contextlib.suppress(Exception):
            run_code(alice, code, timeout=90)

    threading.Thread(target=run, daemon=True).start()


def test_a_session_over_its_memory_is_said_with_its_peak_and_more_is_offered(
    portal: Portal,
) -> None:
    alice = logged_in(portal, "alice")
    job = start_session(
        alice, partition="cpu", account="physics", qos="normal", runtime=10, memory=600
    )
    allocate(alice, 900)
    wait_ended(alice, job, 120)
    # Killed by OverMemoryKill: Slurm 22.05 records FAILED with SIGKILL (no cgroup OOM
    # event, so no OUT_OF_MEMORY state) and the step's MaxRSS over its ReqMem.
    assert (sacct(job, "State"), sacct(job, "ExitCode")) == ("FAILED", "0:9")

    end = alice.hub_api("GET", "sdcc-lab/session-end").json()["end"]
    assert end["kind"] == "out_of_memory"
    peak = end["peak_memory_bytes"]
    assert peak > 600 * 2**20, end
    peak_words = f"{peak / 2**30:.1f}".rstrip("0").rstrip(".") + " GiB"
    if peak < 2**30:
        peak_words = f"{round(peak / 2**20)} MiB"
    expected = (
        f"Your session on cpu (physics, 10 min) ended at {end_time(job)}: it was stopped "
        f"because it used more than its 600 MiB of memory (peak {peak_words})."
    )
    assert message_of(home(alice)) == expected

    form = alice.session.get(alice.url + "hub/spawn/alice").text
    assert message_of(form) == expected
    limit = max_memory(form, "cpu", "normal")
    suggested = min(-(-2 * peak // 2**30) * 1024, limit)
    assert suggested > 600
    assert re.search(rf'name="memory" id="sdcc-memory"[^>]*value="{suggested}"', form, re.S), (
        re.findall(r'name="memory"[^>]*>', form, re.S)
    )
    note = re.search(r'<p id="sdcc-memory-note">(.*?)</p>', form, re.S)
    assert note, "the form says nothing about memory"
    assert html.unescape(note.group(1)) == (
        f"Memory is set to {suggested} MiB (your last session had 600 MiB); "
        f"you may ask for up to {limit} MiB here."
    )


def max_memory(form: str, partition: str, qos: str) -> int:
    """The most memory (MiB) alice may ask for on ``partition`` with ``qos``, as the form says."""
    found = re.search(r'id="sdcc-form-data">(.*?)</script>', form, re.S)
    assert found, "the spawn page has no sdcc_lab form"
    data = json.loads(found.group(1))
    part = next(p for p in data["partitions"] if p["name"] == partition)
    for account in part["accounts"]:
        for q in account["qos"]:
            if q["name"] == qos and q.get("max_memory_mib"):
                return int(q["max_memory_mib"])
    raise AssertionError(f"the form gives no memory limit for {partition}/{qos}")


def test_a_session_cancelled_by_an_administrator_says_so(portal: Portal) -> None:
    alice = logged_in(portal, "alice")
    job = start_session(alice, partition="cpu", account="physics", qos="normal", runtime=10)
    subprocess.run(["/usr/bin/scancel", job], check=True)  # root: an administrator
    wait_ended(alice, job, 60)
    assert sacct(job, "State") == "CANCELLED by 0"
    page = home(alice)
    assert message_of(page) == (
        f"Your session on cpu (physics, 10 min) ended at {end_time(job)}: "
        "it was cancelled by an administrator."
    )
    # Dismissed, it is gone from both pages.
    assert alice.hub_api("POST", "sdcc-lab/session-end/dismiss").status_code == 204
    assert 'id="sdcc-session-end"' not in home(alice)
    assert 'id="sdcc-session-end"' not in alice.session.get(alice.url + "hub/spawn/alice").text


def test_a_restarted_hub_still_says_it(portal: Portal) -> None:
    """The end is kept in the hub's store: a hub restarted after the job ended says it too."""
    alice = logged_in(portal, "alice")
    job = start_session(alice, partition="cpu", account="physics", qos="normal", runtime=10)
    portal.stop()
    subprocess.run(["/usr/bin/scancel", job], check=True)
    wait_until(lambda: sacct(job, "State").startswith("CANCELLED"), 30, f"job {job} to end")
    restarted = _start_portal(
        portal.data_dir, args=("--config", str(portal.data_dir.parent / "extra_config.py"))
    )
    portal.process, portal.url = restarted.process, restarted.url
    alice = logged_in(restarted, "alice")
    assert message_of(home(alice)).endswith("it was cancelled by an administrator.")
