"""Dask on the session's allocation: how long workers take to connect after ``scale(2)``.

Runs against the real Slurm test cluster (``bash scripts/slurm/cluster.sh up``
and ``bash scripts/slurm/jobenv.sh`` first), as root:

    .venv/bin/python benchmarks/dask_benchmark.py [--runs 3]

A session of alice on gpu/tier3/gpu-qos (a real Slurm job, like the hub's,
running the job environment's Python) times, ``--runs`` times each:

- ``cluster()``: reading the session (one ``scontrol``), making the cluster's
  TLS credentials (a CA, a certificate and key, three files), starting the
  Dask scheduler and the ``sbatch --test-only`` pre-check;
- ``scale(2)`` to 2 connected workers (over TLS) with the defaults: two worker jobs
  (the test node offers 4 CPUs: the session and both jobs run at once);
- ``scale(2)`` to 2 connected workers, with two worker processes in one
  one-core job (``cluster(cores=2, processes=2, job_cpu=1)``);
- ``close()`` to no worker job left in the queue.

Medians are printed, with every run's figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_dask_slurm import (  # noqa: E402  (tests/ is put on the path just above)
    JOBENV,
    SESSION_ARGS,
    queue,
    sbatch,
    session_script,
    wait_until,
)

PROGRAM = r"""
import json, os, subprocess, sys, time
from dask.distributed import Client
from sdcc_lab.dask import cluster, worker_job_name

runs = int(sys.argv[2])
name = worker_job_name("alice", os.environ["SLURM_JOB_ID"])


def queued():
    out = subprocess.run(["squeue", "-h", "-u", "alice", "-n", name, "-t", "PD,R,CG", "-o", "%i"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


res = {"create": [], "two_jobs": [], "two_in_one_job": [], "close": []}
for kind, over, wanted in (("two_jobs", {}, 2),
                           ("two_in_one_job", {"cores": 2, "processes": 2, "job_cpu": 1}, 2)):
    for _ in range(runs):
        t0 = time.monotonic()
        c = cluster(**over)
        res["create"].append(time.monotonic() - t0)
        client = Client(c)
        t0 = time.monotonic()
        c.scale(2)
        client.wait_for_workers(wanted, timeout=300)
        res[kind].append(time.monotonic() - t0)
        client.close()
        t0 = time.monotonic()
        c.close()
        while queued() and time.monotonic() - t0 < 60:
            time.sleep(0.1)
        res["close"].append(time.monotonic() - t0)
        time.sleep(2)
with open(sys.argv[1], "w") as f:
    json.dump(res, f)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sdcc-dask-bench-"))
    folder.chmod(0o755)
    shutil.chown(folder, "alice", "alice")
    program, results = folder / "bench.py", folder / "results.json"
    program.write_text(PROGRAM)
    program.chmod(0o644)
    script = session_script(folder, "bench", f"{JOBENV}/bin/python {program} {results} {args.runs}")
    job = sbatch(
        "alice",
        "-J",
        "jupyter-alice",
        *SESSION_ARGS,
        "-o",
        str(folder / "bench-%j.log"),
        str(script),
    )
    try:
        wait_until(lambda: job not in queue("alice"), 1200, f"benchmark session {job} to end")
        if not results.exists():
            log = "".join(p.read_text(errors="replace") for p in folder.glob("bench-*.log"))
            raise SystemExit(f"the benchmark session wrote no results:\n{log[-3000:]}")
        res = json.loads(results.read_text())
    finally:
        subprocess.run(["/usr/bin/scancel", job], check=False)
        for jid, info in queue("alice").items():
            if info["name"] == f"dask-alice-{job}":
                subprocess.run(["/usr/bin/scancel", jid], check=False)
        shutil.rmtree(folder, ignore_errors=True)
    rows = (
        ("cluster() (scontrol + TLS files + scheduler + test-only)", "create"),
        ("scale(2) -> 2 workers connected (two worker jobs)", "two_jobs"),
        ("scale(2) -> 2 workers (2 processes, one 1-core job)", "two_in_one_job"),
        ("close() -> no worker job queued", "close"),
    )
    print(f"Dask in alice's gpu session (job {job}), {args.runs} runs each")
    print(f"{'step':58} {'median':>8}  runs")
    for label, key in rows:
        values = res[key]
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label:58} {statistics.median(values):7.2f}s  {runs}")


if __name__ == "__main__":
    main()
