"""TEST ONLY server extension of the browser tests: the session ends N s after the server started.

The job itself started ``SDCC_LAB_TEST_STARTED_AGO`` seconds (default 2 h) before
the server, so it is past its half-way point: the warnings of the panel skip
thresholds at or above a job's length and move those beyond its half to the
half-way point (src/resources/format.ts), and the tests' thresholds must fire.

It gives the resources collector a scheduler query of its own (the seam the
unit tests use too) that answers a start and an end, so the countdown, the
warnings and the auto-save can be tested on a local session. It is not part
of the package: jupyter_server_test_config.py loads it from this folder.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any

from sdcc_lab.resources.facts import Facts


class FixedEnd:
    """A scheduler query whose job ends ``seconds`` after it was created and
    started ``started_ago`` seconds before."""

    def __init__(self, seconds: float, started_ago: float = 0) -> None:
        now = datetime.now(timezone.utc)
        self.start = now - timedelta(seconds=started_ago)
        self.end = now + timedelta(seconds=seconds)

    async def fetch(self) -> Facts:
        return Facts(
            start=self.start,
            end=self.end,
            limit_seconds=int((self.end - self.start).total_seconds()),
        )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "sdcc_lab_fixed_end"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    # Loaded after sdcc_lab (extensions load in name order), so its collector exists.
    collector = server_app.web_app.settings["sdcc_lab_resources"]
    collector.use_query(
        FixedEnd(
            float(os.environ.get("SDCC_LAB_TEST_END_IN", "5400")),
            float(os.environ.get("SDCC_LAB_TEST_STARTED_AGO", "7200")),
        )
    )
