"""Dask clusters of a session accept only the session's own TLS credentials (real Slurm).

alice's session is a real Slurm job (named ``jupyter-alice``, like the hub's)
running the job environment's Python (/opt/sdcc-lab/jobenv) with
``SDCC_LAB_SESSION`` set, as in tests/test_dask_slurm.py. Inside it a program
calls ``sdcc_lab.dask.cluster()``, scales to two worker jobs, computes, writes
what it saw to ``ready.json`` and waits. While the cluster runs, this test
(root) probes it as bob — another user on the same network — with a plain
TCP Dask client, a raw TLS handshake without a certificate, a Dask client
with throw-away TLS credentials and one with the credentials of bob's own
session cluster (another CA); it checks the credential files' modes and
Slurm's records of the worker jobs, then lets the session close its cluster.
CI starts the cluster and the job environment first: if they are missing,
these fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_dask_slurm import (
    JOBENV,
    SESSION_ARGS,
    as_user,
    cancel_named,
    cluster_ready,  # noqa: F401  (a fixture)
    queue,
    sbatch,
    session_script,
    wait_until,
)
from test_scheduler_records import state_save_location

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SESSION_PROGRAM = r'''
"""alice's session: cluster(), two worker jobs, a sum; then wait for the probes; then close."""
import json, os, subprocess, sys, time, traceback

from dask.distributed import Client
from sdcc_lab.dask import cluster, worker_job_name

folder = sys.argv[1]
out = {"session_job": os.environ["SLURM_JOB_ID"]}
# A session's kernel holds its server's API token; worker jobs must not carry it to Slurm.
os.environ["JUPYTERHUB_API_TOKEN"] = "canary-dask-api-token-5c1e"
name = worker_job_name("alice", os.environ["SLURM_JOB_ID"])


def save(path, data):
    with open(path + ".part", "w") as f:
        json.dump(data, f, indent=1)
    os.replace(path + ".part", path)


def worker_jobs():
    got = subprocess.run(["squeue", "-h", "-u", "alice", "-n", name, "-t", "PD,R,CG", "-o", "%i"],
                         check=True, capture_output=True, text=True).stdout
    return got.split()


try:
    c = cluster()
    out["scheduler_address"] = c.scheduler_address
    out["job_script"] = c.job_script()
    sec = c.security
    out["tls"] = {k: getattr(sec, "tls_" + k, None) for k in (
        "ca_file", "client_cert", "client_key", "scheduler_cert", "scheduler_key",
        "worker_cert", "worker_key")}
    out["require_encryption"] = bool(getattr(sec, "require_encryption", False))
    client = Client(c)
    c.scale(2)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and len(worker_jobs()) < 2:
        time.sleep(0.2)
    client.wait_for_workers(2, timeout=max(deadline - time.monotonic(), 1))
    info = client.scheduler_info()
    out["workers"] = sorted(info["workers"])
    out["nannies"] = sorted(w.get("nanny") or "" for w in info["workers"].values())
    out["worker_jobs"] = worker_jobs()
    out["sum"] = sum(client.gather(client.map(lambda x: x * x, range(100))))
    save(os.path.join(folder, "ready.json"), out)

    # The probes run now (as bob, and root's checks); then the cluster still works.
    probed = os.path.join(folder, "probed")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not os.path.exists(probed):
        time.sleep(0.2)
    out["probed"] = os.path.exists(probed)
    out["sum_after_probes"] = client.submit(sum, range(10)).result(timeout=60)
    client.close()
    c.close()
    t0 = time.monotonic()
    while time.monotonic() < t0 + 30 and worker_jobs():
        time.sleep(0.3)
    out["jobs_after_close"] = worker_jobs()
    paths = [p for p in out["tls"].values() if p]
    out["left_after_close"] = sorted(p for p in {*paths, *(os.path.dirname(p) for p in paths)}
                                     if os.path.exists(p))
except Exception:
    out["crash"] = traceback.format_exc()
save(os.path.join(folder, "results.json"), out)
'''

ATTACK_PROGRAM = r'''
"""bob, on the same network, tries alice's Dask scheduler, nannies and workers."""
import asyncio, json, os, socket, ssl, sys, tempfile, traceback

from distributed import Client
from distributed.core import rpc
from distributed.security import Security

ready = json.load(sys.stdin)
out = {}


def hostport(address):
    host, port = address.split("://", 1)[1].rsplit(":", 1)
    return host, int(port)


def plain_client(address):
    """A Dask client over plain TCP: does it run a task?"""
    try:
        client = Client("tcp://%s:%d" % hostport(address), timeout=10)
    except BaseException as e:
        return "refused: %s: %s" % (type(e).__name__, e)
    try:
        return "ran a task: %r" % (client.submit(sum, [1, 2]).result(timeout=10),)
    except BaseException as e:
        return "connected but no task: %s: %s" % (type(e).__name__, e)
    finally:
        client.close()


def tls_client(address, security, label):
    try:
        client = Client("tls://%s:%d" % hostport(address), security=security, timeout=10)
    except BaseException as e:
        return "refused: %s: %s" % (type(e).__name__, e)
    try:
        return "ran a task: %r" % (client.submit(sum, [1, 2]).result(timeout=10),)
    except BaseException as e:
        return "connected but no task: %s: %s" % (type(e).__name__, e)
    finally:
        client.close()


def raw_tls(address):
    """A TLS handshake without a client certificate, not checking the server's."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(hostport(address), timeout=5) as raw:
            with ctx.wrap_socket(raw) as tls:
                # TLS 1.3: a missing client certificate is refused after the client's Finished.
                data = tls.recv(1)
                return "refused: closed" if data == b"" else "answered %r" % data
    except socket.timeout:
        return "accepted: the handshake passed and the server waits for a request"
    except (ssl.SSLError, ConnectionError) as e:
        return "refused: %s: %s" % (type(e).__name__, e)


def plain_rpc(address):
    """A plain TCP rpc to a worker or nanny: does it answer identity()?"""
    async def go():
        r = rpc("tcp://%s:%d" % hostport(address), timeout=10)
        try:
            return await asyncio.wait_for(r.identity(), 15)
        finally:
            await r.close_rpc()
    try:
        return "answered: %s" % (asyncio.run(go()).get("type"),)
    except BaseException as e:
        return "refused: %s: %s" % (type(e).__name__, e)


def port_open(address):
    try:
        socket.create_connection(hostport(address), timeout=5).close()
        return True
    except OSError:
        return False


def bobs_own_session_credentials():
    """What bob's own session cluster holds: another per-cluster CA and certificate."""
    try:
        from sdcc_lab.dask import create_credentials
    except ImportError as e:
        return None, "no per-session credentials in sdcc_lab.dask (%s)" % e
    base = tempfile.mkdtemp(prefix="bob-dask-")
    return create_credentials(base, "dask-bob-1", valid_seconds=3600).security(), None


try:
    scheduler = ready["scheduler_address"]
    out["scheduler_port_open"] = port_open(scheduler)
    out["plain_client"] = plain_client(scheduler)
    out["raw_tls_no_certificate"] = raw_tls(scheduler)
    out["tls_temporary_credentials"] = tls_client(scheduler, Security.temporary(), "temporary")
    security, why = bobs_own_session_credentials()
    out["tls_other_sessions_credentials"] = (
        tls_client(scheduler, security, "bob's session") if security is not None else why
    )
    out["workers_and_nannies"] = {
        a: {"port_open": port_open(a), "plain_rpc": plain_rpc(a), "raw_tls": raw_tls(a)}
        for a in [*ready["workers"], *ready["nannies"]] if a
    }
    readable = {}
    for path in sorted({p for p in ready["tls"].values() if p}):
        try:
            with open(path, "rb") as f:
                readable[path] = "read %d bytes" % len(f.read())
        except OSError as e:
            readable[path] = "denied: %s" % type(e).__name__
    out["bob_reads_credentials"] = readable
except Exception:
    out["crash"] = traceback.format_exc()
print(json.dumps(out))
'''


def stat_of(path: str) -> dict[str, Any]:
    st = Path(path).stat()
    return {"mode": oct(st.st_mode & 0o7777), "uid": st.st_uid}


@pytest.fixture(scope="module")
def probed(cluster_ready: None) -> Iterator[dict[str, Any]]:  # noqa: F811
    """Run the session, probe its cluster while it runs, let it close; everything seen."""
    folder = Path(tempfile.mkdtemp(prefix="sdcc-dask-tls-"))
    folder.chmod(0o755)
    shutil.chown(folder, "alice", "alice")
    for name, text in (("session_program.py", SESSION_PROGRAM), ("attack.py", ATTACK_PROGRAM)):
        (folder / name).write_text(text)
        (folder / name).chmod(0o644)
    script = session_script(
        folder, "session", f"{JOBENV}/bin/python {folder}/session_program.py {folder}"
    )
    job = sbatch(
        "alice",
        "-J",
        "jupyter-alice",
        *SESSION_ARGS,
        "-o",
        str(folder / "session-%j.log"),
        str(script),
    )
    seen: dict[str, Any] = {"job": job}

    def log() -> str:
        return "".join(p.read_text(errors="replace") for p in folder.glob("session-*.log"))[-4000:]

    def results() -> dict[str, Any]:
        path = folder / "results.json"
        return json.loads(path.read_text()) if path.exists() else {}

    try:
        ready_file = folder / "ready.json"
        wait_until(
            lambda: ready_file.exists() or job not in queue("alice"),
            240,
            f"session job {job} to start its cluster",
        )
        assert ready_file.exists(), (
            f"the session did not get its cluster running: {results()}\n{log()}"
        )
        ready = json.loads(ready_file.read_text())
        seen["ready"] = ready

        # As bob, from the same network (this node).
        attack = subprocess.run(
            as_user("bob", f"{JOBENV}/bin/python", str(folder / "attack.py")),
            input=json.dumps(ready),
            check=False,
            capture_output=True,
            text=True,
            timeout=240,
            cwd="/",
        )
        assert attack.returncode == 0 and attack.stdout.strip(), attack.stderr[-3000:]
        seen["attack"] = json.loads(attack.stdout.strip().splitlines()[-1])
        assert "crash" not in seen["attack"], seen["attack"]["crash"]

        # The credentials on disk, as root sees them.
        paths = sorted({p for p in ready["tls"].values() if p})
        seen["files"] = {p: stat_of(p) for p in paths}
        seen["folders"] = {d: stat_of(d) for d in sorted({str(Path(p).parent) for p in paths})}

        # What Slurm keeps of the worker jobs (the stored environment is in its state directory).
        state_dir = state_save_location()
        seen["slurm_records"] = {
            jid: {
                "stored_files": "".join(
                    p.read_bytes().decode(errors="replace")
                    for p in sorted(state_dir.glob(f"hash.*/job.{jid}/*"))
                ),
                "show_job": subprocess.run(
                    ["/usr/bin/scontrol", "show", "job", "-dd", jid],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=30,
                ).stdout,
                "batch_script": subprocess.run(
                    ["/usr/bin/scontrol", "write", "batch_script", jid, "-"],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=30,
                ).stdout,
            }
            for jid in ready["worker_jobs"]
        }
        (folder / "probed").write_text("done\n")
        wait_until(lambda: job not in queue("alice"), 240, f"session job {job} to end")
        seen["results"] = results()
        assert seen["results"], f"the session wrote no results:\n{log()}"
        assert "crash" not in seen["results"], f"{seen['results']['crash']}\n{log()}"
        printable = {k: v for k, v in seen.items() if k != "slurm_records"}
        print(json.dumps(printable, indent=1, default=str)[:20000])
        yield seen
    finally:
        subprocess.run(["/usr/bin/scancel", job], check=False)
        cancel_named(f"dask-alice-{job}")
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- (a) refused


def test_a_plain_tcp_client_cannot_run_a_task(probed: dict[str, Any]) -> None:
    attack = probed["attack"]
    assert attack["scheduler_port_open"], "the probe did not reach the scheduler's port"
    assert attack["plain_client"].startswith("refused"), attack["plain_client"]


def test_tls_without_the_sessions_certificate_is_refused(probed: dict[str, Any]) -> None:
    attack = probed["attack"]
    assert probed["ready"]["scheduler_address"].startswith("tls://"), probed["ready"][
        "scheduler_address"
    ]
    assert attack["raw_tls_no_certificate"].startswith("refused"), attack["raw_tls_no_certificate"]
    assert attack["tls_temporary_credentials"].startswith("refused"), attack[
        "tls_temporary_credentials"
    ]


def test_another_sessions_credentials_are_refused(probed: dict[str, Any]) -> None:
    got = probed["attack"]["tls_other_sessions_credentials"]
    assert got.startswith("refused"), got


def test_workers_and_nannies_refuse_plain_and_certificateless_connections(
    probed: dict[str, Any],
) -> None:
    targets = probed["attack"]["workers_and_nannies"]
    assert len(targets) == 4, targets  # two workers, two nannies
    for address, got in targets.items():
        assert got["port_open"], (address, got)
        assert got["plain_rpc"].startswith("refused"), (address, got)
        assert got["raw_tls"].startswith("refused"), (address, got)


# --------------------------------------------------------------------------- (b) the session computes


def test_the_sessions_own_client_computes_with_two_worker_jobs(probed: dict[str, Any]) -> None:
    ready, results = probed["ready"], probed["results"]
    assert len(ready["worker_jobs"]) == 2, ready["worker_jobs"]
    assert ready["sum"] == sum(x * x for x in range(100))
    assert len(ready["workers"]) == 2 and all(a.startswith("tls://") for a in ready["workers"])
    assert ready["require_encryption"] is True
    assert results["probed"] and results["sum_after_probes"] == 45  # the probes broke nothing


# --------------------------------------------------------------------------- (c) the credentials


def test_credentials_are_files_only_alice_reads(probed: dict[str, Any]) -> None:
    tls = probed["ready"]["tls"]
    assert all(
        tls[k] for k in ("ca_file", "client_cert", "client_key", "scheduler_key", "worker_key")
    ), tls
    alice = 1001
    for path, st in probed["files"].items():
        assert st == {"mode": "0o600", "uid": alice}, (path, st)
    for path, st in probed["folders"].items():
        assert st == {"mode": "0o700", "uid": alice}, (path, st)
        assert path.startswith("/home/alice/.sdcc-lab/dask/"), path
    for path, got in probed["attack"]["bob_reads_credentials"].items():
        assert got.startswith("denied"), (path, got)


def test_slurm_records_of_the_worker_jobs_hold_no_key(probed: dict[str, Any]) -> None:
    records = probed["slurm_records"]
    assert len(records) == 2, records
    key = probed["ready"]["tls"]["worker_key"]
    for jid, record in records.items():
        assert f"dask-alice-{probed['job']}" in record["show_job"], record["show_job"]
        assert "#!/" in record["batch_script"], record["batch_script"]
        assert f"--tls-key {key}" in record["batch_script"]  # a path, not the key
        for text in record.values():
            assert "PRIVATE KEY" not in text, (jid, text)
    assert "PRIVATE KEY" not in probed["ready"]["job_script"]


def test_worker_jobs_do_not_carry_the_api_token_to_slurm(probed: dict[str, Any]) -> None:
    """The kernel's API token (a canary here) is in no record of the worker jobs."""
    for jid, record in probed["slurm_records"].items():
        assert record["stored_files"], f"no state files of worker job {jid} to check"
        assert "SDCC_LAB_SESSION=" in record["stored_files"]  # the kernel's environment is there
        for what, text in record.items():
            assert "canary-dask-api-token" not in text, (jid, what)


def test_closing_the_cluster_removes_the_credentials(probed: dict[str, Any]) -> None:
    results = probed["results"]
    assert results["jobs_after_close"] == []
    assert results["left_after_close"] == []
    assert probed["ready"]["tls"]["ca_file"], "no credential files to remove"
