"""The example configurations load, and the site class picks the right spawner."""

from __future__ import annotations

from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from sdcc_lab.hub import LocalSessionSpawner, SlurmSessionSpawner

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_site_spawner_example_selects_by_validated_options() -> None:
    config = PyFileConfigLoader(
        "jupyterhub_config.py", path=str(EXAMPLES / "site-spawner")
    ).load_config()
    site_class = config.JupyterHub.spawner_class
    spawner = site_class()
    base = {"local": False, "partition": "gpu", "account": "tier3", "qos": "gpu-qos",
            "gpus": 1, "runtime": 30, "environment": "default"}
    assert spawner.select_spawner_class({**base, "local": True}) is LocalSessionSpawner
    assert spawner.select_spawner_class({**base, "gpu": "none"}) is SlurmSessionSpawner
    gpu_class = spawner.select_spawner_class({**base, "gpu": "any"})
    assert issubclass(gpu_class, SlurmSessionSpawner) and gpu_class is not SlurmSessionSpawner
    assert gpu_class in spawner.allowed_child_classes()
