"""JupyterLab for the galata tests: galata's test settings on a free port."""

import os
import sys

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # noqa: F821
c.ServerApp.ip = "127.0.0.1"  # noqa: F821
c.ServerApp.port = int(os.environ.get("LAB_PORT", "8888"))  # noqa: F821
c.ServerApp.allow_root = True  # noqa: F821
# TEST ONLY: sdcc_lab_fixed_end (in this folder) gives the resources collector a
# scheduler query whose session ends SDCC_LAB_TEST_END_IN seconds (default 90 min)
# after the server started, so the countdown, the warnings and the auto-save can
# be tested on a local session.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
c.ServerApp.jpserver_extensions = {"sdcc_lab": True, "sdcc_lab_fixed_end": True}  # noqa: F821
