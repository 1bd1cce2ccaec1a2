"""The single-user server extension: sdcc_lab's REST API under ``sdcc-lab/api/``."""
