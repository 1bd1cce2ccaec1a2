"""A site's own placement policy on top of sdcc_lab's form spawner.

Sessions that ask for a GPU go to Slurm's gpu partition with a site-wide
minimum runtime; everything else may run locally or in Slurm as chosen.
Run it against the Slurm test cluster of this repository:

    jupyterhub -f examples/site-spawner/jupyterhub_config.py
"""

from typing import Any

from jupyterhub.spawner import Spawner

from sdcc_lab.hub import FormSpawner, LocalSessionSpawner, SlurmSessionSpawner


class GPUFirstSlurmSpawner(SlurmSessionSpawner):
    """Slurm jobs that always ask for two CPUs per GPU session."""

    def sbatch_args(self, options: dict[str, Any], log_dir: str) -> list[str]:
        args = super().sbatch_args(options, log_dir)
        if options["gpu"] != "none":
            args.append("--cpus-per-task=2")
        return args


class SiteSpawner(FormSpawner):
    def select_spawner_class(self, options: dict[str, Any]) -> type[Spawner]:
        if options["local"]:
            return LocalSessionSpawner
        if options["gpu"] != "none":
            return GPUFirstSlurmSpawner
        return SlurmSessionSpawner

    def allowed_child_classes(self) -> list[type[Spawner]]:
        return [LocalSessionSpawner, SlurmSessionSpawner, GPUFirstSlurmSpawner]


c = get_config()  # noqa: F821
c.JupyterHub.spawner_class = SiteSpawner
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.cleanup_servers = False
c.Authenticator.allowed_users = {"alice", "bob"}
c.FormSpawner.environments = {"default": {"description": "Site Python", "setup": ""}}
c.SlurmSessionSpawner.cmd = ["/opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser"]
c.SlurmSessionSpawner.environment = {"PATH": "/opt/sdcc-lab/jobenv/bin:/usr/bin:/bin"}
c.LocalSessionSpawner.cmd = ["/opt/sdcc-lab/jobenv/bin/jupyterhub-singleuser"]
