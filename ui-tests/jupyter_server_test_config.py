"""JupyterLab for the galata tests: galata's test settings on a free port."""

import os

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("LAB_PORT", "8888"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
c.ServerApp.jpserver_extensions = {"sdcc_lab": True}  # noqa: F821

# TEST ONLY: the resources panel shows an end this many seconds after the
# server started (default 90 min), so the countdown, the warnings and the
# auto-save can be tested on a local session. Never set this elsewhere.
c.ResourcesCollector.test_end_in = float(os.environ.get("SDCC_LAB_TEST_END_IN", "5400"))  # noqa: F821
