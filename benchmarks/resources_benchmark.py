"""Server CPU per poll and scheduler calls per hour of the resources panel.

Side by side in one run, on servers started the same way for the same Slurm
job (a real job of alice's on the test cluster, whose id the servers get as
SLURM_JOB_ID; the servers themselves run here as root, not inside the job):

- sdcc_lab ``GET /sdcc-lab/api/resources`` (usage included, default settings:
  one scheduler query at start, a re-check every 300 s);
- jupyter-resource-usage 1.3 ``GET /api/metrics/v1`` (its defaults, and with
  ``track_cpu_percent`` on, which is what gives a CPU figure like ours);
- a scheduler-per-poll approach: the same endpoint with
  ``recheck_interval = 0`` (``scontrol show job`` at every poll), and the
  cost of ``squeue --json`` + parsing measured directly.

Server CPU is user+system time of the server process and its waited
children (psutil), per poll, after subtracting the idle rate measured just
before (jupyter-resource-usage runs a 1 s Prometheus callback even when
nobody polls; its idle rate is printed separately).

Scheduler calls per hour with several tabs are measured time-scaled: the
re-check period and the poll interval are both divided by 300 (1 s and
1/60 s), five tabs poll for 12 s (= one hour), and the calls of a counting
``scontrol`` wrapper are counted.

The kernels case (``--case kernels``, no cluster needed) is what one poll
of a busy local session costs when no cache helps: one server with no kernel,
then with four kernels holding 200 MB each, polled once every 1.1 s (past
the collector's 1 s usage cache, so each poll reads usage afresh). Server CPU
here is the server process's own CPU clock (nanoseconds, all its threads),
not the 10 ms ticks of /proc, minus the idle rate measured just before each
series. It prints each endpoint's cost and the ratio of the resources poll
to ``/api/status`` in the same run (the target: at most 2, whatever the
kernels).

The Slurm cases need the Slurm test cluster (scripts/slurm/cluster.sh up) and
root; all cases need jupyter-resource-usage==1.3.* in the venv. Run:
    .venv/bin/python benchmarks/resources_benchmark.py [--case all|kernels|slurm] [--polls 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sdcc_lab.netutil import free_port
from sdcc_lab.scheduler.slurm import parse_squeue_json

BIN = Path(sys.executable).parent


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    calls_file: Path

    def get(self, path: str, session: requests.Session | None = None) -> None:
        r = (session or requests).get(
            self.url + path, headers={"Authorization": f"token {self.token}"}, timeout=30
        )
        r.raise_for_status()

    def cpu(self) -> float:
        t = psutil.Process(self.proc.pid).cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def calls(self) -> int:
        return len(self.calls_file.read_text().splitlines())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def launch(name: str, d: Path, config: str, env: dict[str, str]) -> Server:
    """A jupyter server on a free port in folder ``d``, once it answers ``api/status``."""
    cfg = d / "config.py"
    cfg.write_text(
        "c.ServerApp.jpserver_extensions = {'sdcc_lab': True, 'jupyter_resource_usage': True}\n"
        + config
    )
    port, token = free_port(), secrets.token_hex(16)
    proc = subprocess.Popen(
        [
            str(BIN / "jupyter"),
            "server",
            f"--config={cfg}",
            "--ServerApp.ip=127.0.0.1",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={d}",
            "--ServerApp.open_browser=False",
            "--log-level=WARN",
        ],
        stdout=(d / "log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = Server(name, proc, f"http://127.0.0.1:{port}/", token, d / "calls")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            server.get("api/status")
            return server
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"{name} did not start:\n{(d / 'log').read_text()[-2000:]}")


def start_server(name: str, folder: Path, job_id: str, config: str) -> Server:
    """A server of Slurm job ``job_id`` whose scontrol counts its calls."""
    d = folder / name
    d.mkdir()
    calls = d / "calls"
    calls.touch()
    wrapper = d / "scontrol"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec /usr/bin/scontrol "$@"\n')
    wrapper.chmod(0o755)
    env = {
        **os.environ,
        "SLURM_JOB_ID": job_id,
        "SDCC_LAB_SESSION": json.dumps({"scheduler": "slurm", "options": {}}),
    }
    return launch(
        name, d, f"c.ResourcesCollector.scontrol_command = [{str(wrapper)!r}]\n" + config, env
    )


def idle_rate(server: Server, seconds: float = 8.0) -> float:
    c0, t0 = server.cpu(), time.monotonic()
    time.sleep(seconds)
    return (server.cpu() - c0) / (time.monotonic() - t0)


def per_poll(server: Server, path: str, polls: int, idle: float) -> tuple[float, float]:
    """(net server CPU ms per poll, median latency ms)."""
    s = requests.Session()
    for _ in range(5):
        server.get(path, s)
    lat = []
    c0, t0 = server.cpu(), time.monotonic()
    for _ in range(polls):
        a = time.perf_counter()
        server.get(path, s)
        lat.append(time.perf_counter() - a)
    wall = time.monotonic() - t0
    cpu = server.cpu() - c0 - idle * wall
    return max(cpu, 0.0) / polls * 1000, statistics.median(lat) * 1000


def squeue_per_poll(job_id: str, polls: int) -> float:
    """CPU ms of one ``squeue --json`` (the child) plus parsing it (this process)."""
    before_self = time.process_time()
    before_children = os.times()
    for _ in range(polls):
        out = sh("/usr/bin/squeue", "--json", "-j", job_id)
        parse_squeue_json(json.loads(out))
    after_children = os.times()
    children = (
        after_children.children_user
        - before_children.children_user
        + after_children.children_system
        - before_children.children_system
    )
    return (time.process_time() - before_self + children) / polls * 1000


def tabs_for_an_hour(server: Server, tabs: int, scale: float) -> tuple[int, int]:
    """(scheduler calls, polls) of ``tabs`` tabs polling every 5 s for one hour, time-scaled."""
    start = server.calls()
    stop = time.monotonic() + 3600 / scale
    count = [0] * tabs

    def tab(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < stop:
            server.get("sdcc-lab/api/resources", s)
            count[i] += 1
            time.sleep(5 / scale)

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(tabs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return server.calls() - start, sum(count)


# --------------------------------------------------------------------------- kernels case


def process_cpu(pid: int) -> float:
    """Seconds of CPU of process ``pid`` (all its threads), from its nanosecond CPU clock.

    Linux names another process's clock ``(~pid << 3) | 2`` (CPUCLOCK_SCHED of
    the whole thread group); /proc's 10 ms ticks are too coarse for 1 ms polls.
    """
    return time.clock_gettime(((~pid) << 3) | 2)


def start_local_server(folder: Path) -> Server:
    """One server of a local session (no scheduler), both panels' extensions on."""
    d = folder / "local"
    d.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "_CONDOR_", "SDCC_LAB_"))
    }
    return launch("local", d, "", env)


async def _execute(server: Server, kernel_id: str, code: str) -> None:
    """Run ``code`` in a kernel through the server's websocket (as JupyterLab does)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    url = server.url.replace("http://", "ws://") + f"api/kernels/{kernel_id}/channels"
    ws = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {server.token}"})
    )
    msg_id = secrets.token_hex(8)
    ws.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": "bench",
                    "session": secrets.token_hex(8),
                    "date": "",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": False,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(ws.read_message(), timeout=120)
        if raw is None:
            raise RuntimeError("the kernel's websocket closed")
        reply = json.loads(raw)
        if (
            reply.get("msg_type") == "execute_reply"
            and reply["parent_header"].get("msg_id") == msg_id
        ):
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"the kernel failed: {reply['content']}")
            ws.close()
            return
    raise RuntimeError("no execute_reply within 120 s")


def start_kernels(server: Server, count: int, megabytes: int) -> list[str]:
    """``count`` kernels, each holding ``megabytes`` MB of touched memory."""
    ids = []
    for _ in range(count):
        r = requests.post(
            server.url + "api/kernels",
            json={"name": "python3"},
            headers={"Authorization": f"token {server.token}"},
            timeout=60,
        )
        r.raise_for_status()
        ids.append(r.json()["id"])
    code = f"held = bytearray({megabytes} << 20)\nfor i in range(0, len(held), 4096): held[i] = 1"
    for kernel_id in ids:
        asyncio.run(_execute(server, kernel_id, code))
    return ids


def idle_cpu_rate(server: Server, seconds: float) -> float:
    """Server CPU seconds per second while nobody polls (timers of the extensions)."""
    c0, t0 = process_cpu(server.proc.pid), time.monotonic()
    time.sleep(seconds)
    return (process_cpu(server.proc.pid) - c0) / (time.monotonic() - t0)


def spaced_polls(server: Server, path: str, polls: int, spacing: float, idle: float) -> float:
    """Server CPU ms per poll, polls ``spacing`` s apart, the idle rate subtracted."""
    s = requests.Session()
    server.get(path, s)  # connection and first-call costs out of the series
    time.sleep(spacing)
    pid = server.proc.pid
    c0, t0 = process_cpu(pid), time.monotonic()
    for i in range(polls):
        server.get(path, s)
        time.sleep(max(0.0, t0 + (i + 1) * spacing - time.monotonic()))
    cpu = process_cpu(pid) - c0 - idle * (time.monotonic() - t0)
    return max(cpu, 0.0) / polls * 1000


def kernels_case(polls: int, rounds: int, kernels: int, megabytes: int, spacing: float) -> None:
    paths = [
        ("`/api/status` (the floor)", "api/status"),
        ("sdcc_lab `/sdcc-lab/api/resources`", "sdcc-lab/api/resources"),
        ("jupyter-resource-usage 1.3 `/api/metrics/v1`", "api/metrics/v1"),
    ]
    folder = Path(tempfile.mkdtemp(prefix="sdcc-res-kernels-"))
    server = start_local_server(folder)
    figures: dict[str, dict[str, float]] = {}
    try:
        for label, count in (("no kernel", 0), (f"{kernels} kernels x {megabytes} MB", kernels)):
            if count:
                start_kernels(server, count, megabytes)
                time.sleep(2)
            got: dict[str, list[float]] = {}
            for _ in range(rounds):
                idle = idle_cpu_rate(server, polls * spacing)
                for name, path in paths:
                    got.setdefault(name, []).append(
                        spaced_polls(server, path, polls, spacing, idle)
                    )
            figures[label] = {name: statistics.median(v) for name, v in got.items()}
        data = requests.get(
            server.url + "sdcc-lab/api/resources",
            headers={"Authorization": f"token {server.token}"},
            timeout=30,
        ).json()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    labels = list(figures)
    print(
        f"\nServer CPU per poll of a local session, polls {spacing:g} s apart (past the 1 s usage cache), "
        f"median of {rounds} rounds of {polls} polls, idle rate subtracted:\n"
    )
    print("| endpoint | " + " | ".join(labels) + " |")
    print("| --- |" + " --- |" * len(labels))
    for name, _ in paths:
        print(f"| {name} | " + " | ".join(f"{figures[lb][name]:.2f} ms" for lb in labels) + " |")
    floor, ours = paths[0][0], paths[1][0]
    print(
        "| ratio resources / status | "
        + " | ".join(f"{figures[lb][ours] / figures[lb][floor]:.2f}" for lb in labels)
        + " |"
    )
    print(
        f"\nThe last answer with the kernels: usage {data['usage']['memory_bytes'] / 2**20:.0f} MiB "
        f"measured from {data['usage']['measured_from']}."
    )


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--case", choices=("all", "kernels", "slurm"), default="all")
    ap.add_argument("--polls", type=int, default=300, help="polls per series (Slurm cases)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tabs", type=int, default=5)
    ap.add_argument("--spaced-polls", type=int, default=15, help="polls per series (kernels case)")
    ap.add_argument("--kernels", type=int, default=4)
    ap.add_argument("--kernel-mb", type=int, default=200)
    ap.add_argument(
        "--spacing", type=float, default=1.1, help="seconds between polls (kernels case)"
    )
    args = ap.parse_args()

    if args.case in ("all", "kernels"):
        kernels_case(args.spaced_polls, args.rounds, args.kernels, args.kernel_mb, args.spacing)
    if args.case in ("all", "slurm"):
        slurm_cases(args)


def slurm_cases(args: argparse.Namespace) -> None:
    sh("/usr/bin/scontrol", "ping")
    job_id = (
        sh(
            "runuser",
            "-u",
            "alice",
            "--",
            "/usr/bin/sbatch",
            "--parsable",
            "-p",
            "cpu",
            "-A",
            "physics",
            "-t",
            "30",
            "-c",
            "1",
            "--mem=256M",
            "-J",
            "sdcc-res-bench",
            "-o",
            "/dev/null",
            "--wrap",
            "sleep 1800",
        )
        .strip()
        .split(";")[0]
    )
    folder = Path(tempfile.mkdtemp(prefix="sdcc-res-bench-"))
    servers: list[Server] = []
    try:
        deadline = time.monotonic() + 60
        while sh("/usr/bin/squeue", "-h", "-j", job_id, "-o", "%T").strip() != "RUNNING":
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} did not start")
            time.sleep(0.5)
        default = start_server("default", folder, job_id, "")
        jru_cpu = start_server(
            "jru-cpu", folder, job_id, "c.ResourceUseDisplay.track_cpu_percent = True\n"
        )
        per_poll_srv = start_server(
            "per-poll", folder, job_id, "c.ResourcesCollector.recheck_interval = 0.0\n"
        )
        scaled = start_server(
            "scaled", folder, job_id, "c.ResourcesCollector.recheck_interval = 1.0\n"
        )
        servers = [default, jru_cpu, per_poll_srv, scaled]
        time.sleep(2)

        rows: dict[str, list[float]] = {}
        lats: dict[str, list[float]] = {}
        idles: dict[str, list[float]] = {}
        cases = [
            ("sdcc_lab /sdcc-lab/api/resources", default, "sdcc-lab/api/resources"),
            ("jupyter-resource-usage 1.3 /api/metrics/v1 (defaults)", default, "api/metrics/v1"),
            (
                "jupyter-resource-usage 1.3 /api/metrics/v1 (track_cpu_percent)",
                jru_cpu,
                "api/metrics/v1",
            ),
            ("scontrol per poll (recheck_interval = 0)", per_poll_srv, "sdcc-lab/api/resources"),
        ]
        pp_start = per_poll_srv.calls()
        for _ in range(args.rounds):
            for name, server, path in cases:
                idle = idle_rate(server)
                cpu, lat = per_poll(server, path, args.polls, idle)
                rows.setdefault(name, []).append(cpu)
                lats.setdefault(name, []).append(lat)
                idles.setdefault(name, []).append(idle)
        squeue_ms = statistics.median(squeue_per_poll(job_id, 30) for _ in range(args.rounds))

        print(
            f"\nServer CPU per poll, median of {args.rounds} rounds of {args.polls} polls "
            f"(idle rate subtracted), Slurm job {job_id}:\n"
        )
        print("| endpoint | server CPU per poll | median latency | idle server CPU (10 ms ticks) |")
        print("| --- | --- | --- | --- |")
        for name, _, _ in cases:
            print(
                f"| {name} | {statistics.median(rows[name]):.2f} ms | {statistics.median(lats[name]):.1f} ms "
                f"| {statistics.median(idles[name]) * 1000:.1f} ms/s |"
            )
        print(
            f"| `squeue --json -j ID` + parse, per poll (measured directly) | {squeue_ms:.2f} ms | | |"
        )

        calls, polls = tabs_for_an_hour(scaled, args.tabs, 300.0)
        # Per poll: calls per poll counted over the CPU rounds above (sequential polls, as
        # unsynchronised tabs 5 s apart are), times the polls of the tabs in an hour.
        pp_calls = per_poll_srv.calls() - pp_start
        pp_polls = (args.polls + 5) * args.rounds
        polls_per_hour = args.tabs * 3600 // 5
        pp_per_hour = round(pp_calls / pp_polls * polls_per_hour)
        print(
            f"\nScheduler calls in one hour, {args.tabs} tabs polling every 5 s "
            "(time-scaled, counted by a wrapper):\n"
        )
        print("| approach | scheduler calls per hour per session | polls |")
        print("| --- | --- | --- |")
        print(f"| sdcc_lab (re-check 300 s; run with 1 s for 12 s) | {calls} | {polls} |")
        print(
            f"| scheduler per poll ({pp_calls} calls for {pp_polls} polls, at {polls_per_hour} polls/h) "
            f"| {pp_per_hour} | {polls_per_hour} |"
        )
        print("| Open OnDemand card (squeue every 10 s per session, from its design) | 360 | |")
        print(
            f"\nsdcc_lab default server: {default.calls()} scheduler call(s) in the whole run "
            f"({sum(args.polls + 5 for _ in range(args.rounds))} resource polls)."
        )
    finally:
        for s in servers:
            s.stop()
        subprocess.run(["/usr/bin/scancel", job_id], check=False)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
