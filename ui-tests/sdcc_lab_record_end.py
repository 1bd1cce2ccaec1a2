"""TEST ONLY: keep a recorded Slurm end as a demo user's last session (ui-tests/tests/ends.spec.ts).

Two ends cannot be had from a real job on the one-node test cluster:

- a node failure: downing the only node takes it from every other test, and
  a batch job Slurm may requeue (its default) would come back pending, not
  ended;
- a non-zero exit code after the server ran: the server exits 0 on a stop
  signal or a shutdown request, and non-zero only before it is ready (which
  the hub reports as a failed start, not as an end).

For those the browser test keeps, in the running demo hub's own store, the end
that Slurm reported for a real job, the way the hub does when its poll finds a
job gone: :func:`sdcc_lab.hub.ends.record_job_end`, with a spawner whose
``job_end`` reads the recorded ``sacct -nP`` output (tests/fixtures/slurm/sacct,
sources in tests/fixtures/SOURCES.md) through the hub's own parser. The kind,
state, exit code and peak are the recording's; the end time is now, so the
page reads like an end of today (the recordings are of other days). The
session's options are the ones given, as a start would have kept them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine

from sdcc_lab.hub.ends import SETTINGS_KEY, SessionEnds, record_job_end
from sdcc_lab.hub.presets import default_store_url
from sdcc_lab.scheduler.ends import JobEnd, slurm_job_end
from sdcc_lab.scheduler.slurm.sacct import SACCT_FIELDS, parse_sacct

SACCT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slurm" / "sacct"
# gc3pie's query (its recordings): sacct --noheader --parsable --format jobid,exitcode,state,
# ncpus,elapsed,totalcpu,submit,start,end,maxrss,maxvmsize
GC3PIE_FIELDS = [
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
]
RECORDINGS = {
    # a real job whose node failed (gc3pie's recording, 2016)
    "node_fail": ("gc3pie_2016_node_fail.txt", GC3PIE_FIELDS),
    # a real job of this project's test cluster that exited with code 3 (H8's recording)
    "exit_code": ("slurm-22.05.8_failed.epoch.txt", SACCT_FIELDS),
}


def recorded_end(name: str) -> tuple[str, JobEnd]:
    """The job id and end of recording ``name``, read by the hub's parser; ended now."""
    file, fields = RECORDINGS[name]
    text = (SACCT / file).read_text()
    job_id = text.split("|", 1)[0]
    end = slurm_job_end(parse_sacct(text, fields, tz=timezone.utc), job_id)
    return job_id, replace(end, ended_at=datetime.now(timezone.utc))


def store_of(data_dir: Path) -> SessionEnds:
    """The demo hub's ends store (the presets' database beside its own, as the hub finds it)."""
    hub_db = data_dir.resolve() / "hub" / "jupyterhub.sqlite"
    if not hub_db.is_file():
        raise SystemExit(f"no demo hub database at {hub_db}")
    return SessionEnds(create_engine(default_store_url(f"sqlite:///{hub_db}"), future=True))


async def keep(data_dir: Path, user: str, name: str, options: dict[str, Any]) -> str:
    job_id, end = recorded_end(name)

    async def job_end() -> JobEnd:
        return end

    spawner = SimpleNamespace(
        user=SimpleNamespace(name=user, settings={SETTINGS_KEY: store_of(data_dir)}),
        name="",
        job_id=job_id,
        session_scheduler="slurm",
        user_options=options,
        job_end=job_end,
        log=logging.getLogger("sdcc_lab_record_end"),
    )
    record = await record_job_end(spawner, None)
    assert record is not None
    return json.dumps({"job_id": record.job_id, "kind": record.end.kind, "state": record.end.state})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="the demo's --data-dir")
    parser.add_argument("--user", required=True)
    parser.add_argument("--end", required=True, choices=sorted(RECORDINGS))
    parser.add_argument("--options", required=True, help="the session's options (JSON)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    print(asyncio.run(keep(args.data_dir, args.user, args.end, json.loads(args.options))))


if __name__ == "__main__":
    main()
