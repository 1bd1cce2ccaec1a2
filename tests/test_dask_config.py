"""sdcc_lab.dask without a cluster: configuration, walltime capping, interface, overrides.

The HTCondor cluster cannot be run here (no HTCondor pool): only its
configuration is tested, by building the HTCondorCluster object and reading
its job script. The Slurm pre-check runs against a fake ``sbatch`` on PATH.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from sdcc_lab import dask as sdask
from sdcc_lab.dask import (
    ClusterCredentials,
    DaskSessionError,
    SessionJob,
    capped_walltime,
    check_with_sbatch,
    cluster_kwargs,
    create_credentials,
    is_worker_job_name,
    node_interface,
    sbatch_test_only_argv,
    session_job,
    worker_job_name,
)

SLURM = SessionJob("slurm", "alice", "77", "gpu", "tier3", "gpu-qos", 2, 4 << 30, 1234)
HTCONDOR = SessionJob(
    "htcondor", "alice", "12.0", cpus=1, memory_bytes=2 << 30, remaining_seconds=3600
)


@cache
def creds() -> ClusterCredentials:
    """One set of credentials for the pure configuration tests (removed at exit)."""
    base = tempfile.mkdtemp(prefix="sdcc-dask-creds-")
    atexit.register(shutil.rmtree, base, True)
    return create_credentials(base, "77", 3600)


def kwargs(session: SessionJob = SLURM, **over: object) -> dict[str, object]:
    return cluster_kwargs(session, over, interface="lo", home="/home/alice", credentials=creds())


# --------------------------------------------------------------------------- defaults


def test_slurm_defaults_come_from_the_session() -> None:
    k = kwargs()
    assert (k["account"], k["queue"], k["job_extra_directives"]) == (
        "tier3",
        "gpu",
        ["--qos=gpu-qos"],
    )
    assert (k["cores"], k["memory"]) == (2, "4096MiB")
    assert k["walltime"] == "00:20:00"  # 1234 s left: 20 whole minutes
    assert k["job_name"] == "dask-alice-77"
    assert k["log_directory"] == "/home/alice/.sdcc-lab/logs/dask"
    assert k["interface"] == "lo"
    assert k["scheduler_options"] == {"dashboard_address": "127.0.0.1:0"}
    assert k["worker_extra_args"] == ["--dashboard-address", "127.0.0.1:0"]
    assert k["python"] == os.sys.executable  # type: ignore[attr-defined]
    assert k["protocol"] == "tls://"
    security = k["security"]
    assert security.require_encryption is True
    c = creds()
    for role in ("client", "scheduler", "worker"):
        assert security.get_tls_config_for_role(role) == {
            "ca_file": str(c.ca_file),
            "cert": str(c.cert_file),
            "key": str(c.key_file),
            "ciphers": None,
        }


def test_overrides_replace_defaults_and_keep_the_name() -> None:
    k = kwargs(
        cores=4,
        memory="8GiB",
        qos="normal",
        queue="cpu",
        account="physics",
        job_extra_directives=["--gres=gpu:1"],
        worker_extra_args=["--lifetime", "10m"],
    )
    assert (k["cores"], k["memory"], k["queue"], k["account"]) == (4, "8GiB", "cpu", "physics")
    assert k["job_extra_directives"] == ["--qos=normal", "--gres=gpu:1"]
    assert k["worker_extra_args"] == ["--dashboard-address", "127.0.0.1:0", "--lifetime", "10m"]
    assert k["job_name"] == "dask-alice-77"


def test_worker_job_name_names_user_and_session() -> None:
    assert worker_job_name("alice", "77") == "dask-alice-77"
    assert is_worker_job_name("dask-alice-77", "alice", "77")
    assert not is_worker_job_name("dask-alice-778", "alice", "77")
    assert not is_worker_job_name("dask-bob-77", "alice", "77")
    assert not is_worker_job_name(None, "alice", "77")


# --------------------------------------------------------------------------- walltime


def test_walltime_never_exceeds_the_sessions_remaining_time() -> None:
    assert capped_walltime(SLURM, None) == "00:20:00"
    assert capped_walltime(SLURM, "00:10:00") == "00:10:00"
    assert capped_walltime(SLURM, "10:30") == "00:11:00"  # MM:SS rounds up to minutes
    with pytest.warns(UserWarning, match="longer than the session's remaining time"):
        assert capped_walltime(SLURM, "02:00:00") == "00:20:00"
    long = SessionJob("slurm", "alice", "77", remaining_seconds=2 * 86400 + 59)
    assert capped_walltime(long, None) == "48:00:00"


def test_no_time_left_is_an_error() -> None:
    ending = SessionJob("slurm", "alice", "77", cpus=1, memory_bytes=1 << 30, remaining_seconds=59)
    with pytest.raises(DaskSessionError, match="the session ends in 59 s"):
        kwargs(ending)


def test_unknown_end_keeps_the_request_or_the_default() -> None:
    open_ended = SessionJob("slurm", "alice", "77", cpus=1, memory_bytes=1 << 30)
    assert kwargs(open_ended)["walltime"] is None
    assert kwargs(open_ended, walltime="01:00:00")["walltime"] == "01:00:00"
    unread = SessionJob(
        "slurm", "alice", "77", cpus=1, memory_bytes=1 << 30, problem="scontrol failed"
    )
    with pytest.raises(DaskSessionError, match="scontrol failed; pass walltime"):
        kwargs(unread)


# --------------------------------------------------------------------------- overrides refused


@pytest.mark.parametrize(
    "over, message",
    [
        ({"acount": "tier3"}, "unknown option acount"),
        ({"dashboard_address": ":8787"}, "unknown option dashboard_address"),
        ({"job_name": "x"}, "the job name is fixed"),
        ({"account": "tier3 --uid=0"}, "account='tier3 --uid=0' is not valid"),
        ({"queue": "-pgpu"}, "queue='-pgpu' is not valid"),
        ({"cores": 0}, "cores=0 is not valid"),
        ({"cores": True}, "cores=True is not valid"),
        ({"memory": "lots"}, "memory='lots' is not valid"),
        ({"walltime": "soon"}, "walltime='soon' is not valid"),
        ({"python": "python3"}, "absolute path"),
        ({"job_extra_directives": ["--account=physics"]}, "may not set --account: use account="),
        ({"job_extra_directives": ["-t 10"]}, "may not set -t: use walltime="),
        (
            {"job_extra_directives": "--gres=gpu:1"},
            "job_extra_directives='--gres=gpu:1' is not valid",
        ),
        ({"interface": "nosuch0"}, "interface='nosuch0': this node has"),
        ({"disk": "1GiB"}, "unknown option disk"),
        ({"scheduler_options": {"protocol": "tcp://"}}, "scheduler_options may not set 'protocol'"),
        ({"scheduler_options": {"security": None}}, "scheduler_options may not set 'security'"),
        ({"worker_extra_args": ["--protocol", "tcp"]}, "worker_extra_args may not set --protocol"),
        ({"worker_extra_args": ["--tls-key=/tmp/k"]}, "worker_extra_args may not set --tls-key"),
    ],
)
def test_bad_overrides_are_refused_with_a_message(over: dict[str, object], message: str) -> None:
    with pytest.raises(DaskSessionError, match=message.replace("(", r"\(").replace("?", r"\?")):
        kwargs(**over)


def test_unknown_option_lists_what_is_accepted() -> None:
    with pytest.raises(DaskSessionError) as info:
        kwargs(foo=1, bar=2)
    text = str(info.value)
    assert "unknown options bar, foo" in text
    assert "account: a Slurm account" in text and "walltime:" in text


# --------------------------------------------------------------------------- sessions without a cluster


def test_a_local_session_gets_a_clear_error() -> None:
    with pytest.raises(DaskSessionError, match=r"runs locally.*LocalCluster"):
        cluster_kwargs(SessionJob("local", "alice", None), {}, credentials=creds())


def test_a_slurm_identity_outside_a_job_is_an_error() -> None:
    with pytest.raises(DaskSessionError, match="outside a batch job"):
        cluster_kwargs(SessionJob("slurm", "alice", None), {}, credentials=creds())


def test_session_job_reads_identity_and_job_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    env = {
        "SDCC_LAB_SESSION": json.dumps(
            {"scheduler": "slurm", "options": {"qos": "gpu-qos", "account": "x"}}
        ),
        "SLURM_JOB_ID": "77",
        "SLURM_JOB_PARTITION": "gpu",
        "SLURM_JOB_ACCOUNT": "tier3",
        "SLURM_CPUS_ON_NODE": "2",
        "SLURM_MEM_PER_NODE": "4096",
        "SLURM_JOB_START_TIME": str(int(time.time()) - 60),
        "SLURM_JOB_END_TIME": str(int(time.time()) + 600),
    }
    s = session_job(env, query=False)
    assert (s.scheduler, s.job_id, s.partition, s.account, s.qos) == (
        "slurm",
        "77",
        "gpu",
        "tier3",
        "gpu-qos",
    )
    assert (s.cpus, s.memory_bytes) == (2, 4 << 30)
    assert 590 <= (s.remaining_seconds or 0) <= 600
    assert session_job({}, query=False).scheduler == "local"


def test_a_kernel_follows_the_servers_session_rule() -> None:
    """The same rule as the server's (sdcc_lab.session): the panel shows what cluster() uses."""
    broken = session_job({"SDCC_LAB_SESSION": "{"}, query=False)
    assert broken.scheduler == "local"
    with pytest.raises(DaskSessionError, match=r"LocalCluster.*malformed"):
        cluster_kwargs(broken, {}, credentials=creds())
    # Without a usable identity the environment decides: a plain jupyter lab in a Slurm job.
    in_job = session_job({"SDCC_LAB_SESSION": "{", "SLURM_JOB_ID": "77"}, query=False)
    assert (in_job.scheduler, in_job.job_id) == ("slurm", "77")
    # The hub's identity decides against the environment, and says why.
    local = session_job(
        {"SDCC_LAB_SESSION": json.dumps({"scheduler": "local"}), "SLURM_JOB_ID": "77"}
    )
    assert (local.scheduler, local.job_id) == ("local", None)
    with pytest.raises(DaskSessionError, match=r"LocalCluster.*says local"):
        cluster_kwargs(local, {}, credentials=creds())


# --------------------------------------------------------------------------- interface


def test_interface_is_the_one_carrying_the_nodes_address() -> None:
    table = {
        "lo": [IPv4Network("127.0.0.0/8"), IPv4Network("127.0.0.1/32")],
        "eth0": [IPv4Network("192.0.2.0/24"), IPv4Network("192.0.2.2/32")],
    }
    assert node_interface("localhost", table) == "lo"
    assert node_interface("127.0.1.1", table) == "lo"  # Debian's hostname address: by network
    assert node_interface("192.0.2.2", table) == "eth0"
    with pytest.raises(DaskSessionError, match=r"no network interface carries 198\.51\.100\.7"):
        node_interface("198.51.100.7", table)
    with pytest.raises(DaskSessionError, match="does not resolve"):
        node_interface("no-such-host.invalid", table)


def test_interface_of_this_node_is_never_a_wildcard() -> None:
    name = node_interface()
    assert name in sdask._interfaces()
    assert name != "0.0.0.0"


# --------------------------------------------------------------------------- the pre-check


def test_test_only_argv_repeats_the_job_header() -> None:
    header = "#SBATCH -J dask-alice-77\n#SBATCH -p gpu\n#SBATCH -A tier3\n#SBATCH --qos=gpu-qos\n#SBATCH -t 00:20:00"
    assert sbatch_test_only_argv(header, "/tmp/job.sh", "/usr/bin/sbatch") == [
        "/usr/bin/sbatch",
        "--test-only",
        "-J",
        "dask-alice-77",
        "-p",
        "gpu",
        "-A",
        "tier3",
        "--qos=gpu-qos",
        "-t",
        "00:20:00",
        "/tmp/job.sh",
    ]


def fake_sbatch(folder: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str) -> Path:
    calls = folder / "calls"
    script = folder / "sbatch"
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {calls}\necho "{message}" >&2\nexit {code}\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_a_refusal_carries_slurms_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_sbatch(
        tmp_path,
        monkeypatch,
        1,
        "sbatch: error: Batch job submission failed: "
        "Invalid account or account/partition combination specified",
    )
    with pytest.raises(DaskSessionError) as info:
        check_with_sbatch(
            "#SBATCH -A physics\n#SBATCH -p gpu", "#!/bin/sh\n", "account physics, partition gpu"
        )
    text = str(info.value)
    assert text.startswith("Slurm refuses the worker jobs (account physics, partition gpu)")
    assert "Invalid account or account/partition combination specified" in text
    assert calls.read_text().splitlines()[:5] == ["--test-only", "-A", "physics", "-p", "gpu"]


def test_an_accepted_job_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sbatch(tmp_path, monkeypatch, 0, "sbatch: Job 5 to start at 2026-11-25T10:00:00")
    assert "Job 5 to start" in check_with_sbatch("#SBATCH -p gpu", "#!/bin/sh\n", "x")


@pytest.mark.parametrize(
    ("script", "timeout", "said"),
    [
        (
            'echo "sbatch: error: Unable to contact slurm controller (connect failure)" >&2\nexit 1',
            30,
            "cannot reach the scheduler",
        ),
        ("exec sleep 30", 0.5, "sbatch did not answer within 0.5 s"),
    ],
)
def test_a_scheduler_that_does_not_answer_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str, timeout: float, said: str
) -> None:
    (tmp_path / "sbatch").write_text(f"#!/bin/sh\n{script}\n")
    (tmp_path / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DaskSessionError) as info:
        check_with_sbatch("#SBATCH -p gpu", "#!/bin/sh\n", "x", timeout=timeout)
    assert str(info.value).startswith("Slurm did not check the worker jobs: ")
    assert said in str(info.value) and str(info.value).endswith("No job was submitted.")


def test_sbatch_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch anywhere
    with pytest.raises(DaskSessionError, match="cannot run sbatch"):
        check_with_sbatch("#SBATCH -p gpu", "#!/bin/sh\n", "x")


# --------------------------------------------------------------------------- real cluster objects


def test_slurm_cluster_script_has_the_session_values(tmp_path: Path) -> None:
    from dask_jobqueue import SLURMCluster

    k = cluster_kwargs(SLURM, {}, interface="lo", home=str(tmp_path), credentials=creds())
    with SLURMCluster(**k) as c:
        script = c.job_script()
        assert c.scheduler_address.startswith("tls://127.0.0.1:")
        assert not c.dashboard_link.startswith("http://127.0.0.1:8787")
    for line in (
        "#SBATCH -J dask-alice-77",
        "#SBATCH -p gpu",
        "#SBATCH -A tier3",
        "#SBATCH --qos=gpu-qos",
        "#SBATCH -t 00:20:00",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem=4G",
        f"#SBATCH -o {tmp_path}/.sdcc-lab/logs/dask/dask-alice-77-%J.out",
    ):
        assert line in script
    assert "--interface lo" in script and "--dashboard-address 127.0.0.1:0" in script


def test_htcondor_configuration(tmp_path: Path) -> None:
    """HTCondor cannot run here: the cluster is built and its submit description read."""
    from dask_jobqueue import HTCondorCluster

    k = cluster_kwargs(
        HTCONDOR, {"disk": "2GiB"}, interface="lo", home=str(tmp_path), credentials=creds()
    )
    assert "account" not in k and "queue" not in k
    assert k["job_extra_directives"] == {
        "batch_name": "dask-alice-12.0",
        "allowed_job_duration": "3600",
    }
    with HTCondorCluster(**k) as c:
        script = c.job_script()
        assert c.scheduler_address.startswith("tls://127.0.0.1:")
    assert "batch_name = dask-alice-12.0" in script
    assert "allowed_job_duration = 3600" in script
    assert f"LogDirectory = {tmp_path}/.sdcc-lab/logs/dask" in script
    assert "--interface lo" in script and "127.0.0.1:0" in script
    assert f"--tls-key {creds().key_file}" in script and "PRIVATE KEY" not in script
    with pytest.raises(DaskSessionError, match="unknown option qos"):
        cluster_kwargs(HTCONDOR, {"qos": "normal"}, interface="lo", credentials=creds())


# --------------------------------------------------------------------------- TLS credentials


def test_credentials_are_private_files_in_a_private_folder(tmp_path: Path) -> None:
    base = tmp_path / ".sdcc-lab" / "dask"
    c = create_credentials(base, "77", 600)
    assert c.folder.parent == base and c.folder.name.startswith("77-")
    assert base.stat().st_mode & 0o777 == 0o700
    assert c.folder.stat().st_mode & 0o777 == 0o700
    # The CA's key is not kept: only the CA certificate, the certificate and its key.
    assert sorted(p.name for p in c.folder.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    for path in (c.ca_file, c.cert_file, c.key_file):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert "PRIVATE KEY" in c.key_file.read_text()
    assert "PRIVATE KEY" not in c.ca_file.read_text() + c.cert_file.read_text()
    c.remove()
    assert not c.folder.exists() and base.exists()
    c.remove()  # twice: nothing to do


def test_each_cluster_gets_its_own_ca(tmp_path: Path) -> None:
    one = create_credentials(tmp_path, "77", 600)
    two = create_credentials(tmp_path, "77", 600)
    assert one.folder != two.folder
    assert one.ca_file.read_bytes() != two.ca_file.read_bytes()
    # The certificate verifies against its own CA, not against another cluster's.
    for ca, cert, ok in ((one, one, True), (one, two, False)):
        ctx = ssl.create_default_context(cafile=str(ca.ca_file))
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(cert.ca_file))
        server.load_cert_chain(str(cert.cert_file), str(cert.key_file))
        assert _handshake(ctx, server) is ok


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext) -> bool:
    """Whether a TLS handshake between the two contexts succeeds (in memory)."""
    client.check_hostname = False
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    cli = client.wrap_bio(c_in, c_out, server_side=False)
    srv = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, end, out_bio, peer_in in (("c", cli, c_out, s_in), ("s", srv, s_out, c_in)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError:
                    return False
            peer_in.write(out_bio.read())
        if all(done.values()):
            return True
    return False


def test_credentials_need_a_positive_lifetime(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid_seconds must be positive"):
        create_credentials(tmp_path, "77", 0)
    assert list(tmp_path.iterdir()) == []


def test_credentials_outlive_the_session_by_the_margin() -> None:
    assert sdask.credentials_lifetime(SLURM) == 1234 + sdask.CREDENTIALS_MARGIN_SECONDS
    open_ended = SessionJob("slurm", "alice", "77")
    assert sdask.credentials_lifetime(open_ended) == sdask.CREDENTIALS_DEFAULT_SECONDS


@pytest.fixture
def slurm_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """cluster() in a Slurm session of alice, HOME in tmp_path, sbatch a fake that accepts."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(sdask, "session_job", lambda: SLURM)
    monkeypatch.setattr(sdask, "node_interface", lambda: "lo")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_sbatch(bin_dir, monkeypatch, 0, "sbatch: Job 5 to start at 2026-11-27T10:00:00")
    return home


def test_cluster_uses_tls_refuses_plain_clients_and_removes_its_credentials_on_close(
    slurm_session: Path,
) -> None:
    from distributed import Client

    c = sdask.cluster()
    try:
        folder = Path(c.security.tls_ca_file).parent
        assert folder.parent == slurm_session / ".sdcc-lab" / "dask" and folder.is_dir()
        assert c.scheduler_address.startswith("tls://127.0.0.1:")
        host_port = c.scheduler_address.split("://", 1)[1]
        with pytest.raises(OSError):  # the scheduler does not speak plain TCP
            Client(f"tcp://{host_port}", timeout=5)
        with Client(c) as client:  # the cluster's own client has the credentials
            assert client.scheduler_info()["address"] == c.scheduler_address
    finally:
        c.close()
    assert not folder.exists()


def test_a_refused_cluster_leaves_no_credentials(
    slurm_session: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_sbatch(
        slurm_session.parent / "bin", monkeypatch, 1, "sbatch: error: Invalid qos specification"
    )
    with pytest.raises(DaskSessionError, match="Invalid qos specification"):
        sdask.cluster()
    assert list((slurm_session / ".sdcc-lab" / "dask").iterdir()) == []
    with pytest.raises(DaskSessionError, match="unknown option foo"):
        sdask.cluster(foo=1)
    assert list((slurm_session / ".sdcc-lab" / "dask").iterdir()) == []


def test_a_local_session_writes_no_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sdask, "session_job", lambda: SessionJob("local", "alice", None))
    with pytest.raises(DaskSessionError, match="LocalCluster"):
        sdask.cluster()
    assert not (tmp_path / ".sdcc-lab" / "dask").exists()


def _kernel(end: str) -> str:
    """A kernel's program: cluster() in alice's Slurm session, print the credentials' folder, then ``end``."""
    return (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from sdcc_lab import dask as sdask\n"
        "from sdcc_lab.dask import SessionJob\n"
        f"sdask.session_job = lambda: SessionJob{tuple(SLURM.__dict__.values())!r}\n"
        "sdask.node_interface = lambda: 'lo'\n"
        "c = sdask.cluster()\n"
        "print(Path(c.security.tls_ca_file).parent, flush=True)\n"
        f"{end}\n"
    )


def test_a_kernel_that_exits_without_close_removes_the_credentials(slurm_session: Path) -> None:
    """A notebook's kernel shut down normally (interpreter exit) with the cluster still open."""
    proc = subprocess.run(
        [sys.executable, "-c", _kernel("pass")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    folder = Path(proc.stdout.strip().splitlines()[-1])
    assert folder.parent == slurm_session / ".sdcc-lab" / "dask"
    assert not folder.exists()


def test_a_killed_kernel_leaves_credentials_only_the_user_reads(slurm_session: Path) -> None:
    """SIGKILL: nothing runs at exit; the folder stays, mode 700, its files mode 600."""
    proc = subprocess.run(
        [sys.executable, "-c", _kernel("os.kill(os.getpid(), signal.SIGKILL)")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -9, proc.stderr[-3000:]
    folder = Path(proc.stdout.strip().splitlines()[-1])
    assert folder.parent == slurm_session / ".sdcc-lab" / "dask"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert sorted((p.name, p.stat().st_mode & 0o777) for p in folder.iterdir()) == [
        ("ca.pem", 0o600),
        ("cert.pem", 0o600),
        ("key.pem", 0o600),
    ]
