"""A site's own placement policy on top of sdcc_lab's form spawner.

Sessions that ask for a GPU go to Slurm with two CPUs per job; everything else
may run locally or in Slurm as chosen. The policy is a function set as the
form spawner's ``select_spawner_class`` hook, as JupyterHub's own hooks are set.
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


def select_spawner_class(spawner: FormSpawner, options: dict[str, Any]) -> type[Spawner]:
    """The class that runs a session, from the options the form spawner validated."""
    if options["local"]:
        return LocalSessionSpawner
    if options["gpu"] != "none":
        return GPUFirstSlurmSpawner
    return SlurmSessionSpawner


c = get_config()  # noqa: F821
c.JupyterHub.spawner_class = FormSpawner
c.FormSpawner.select_spawner_class = select_spawner_class
# The classes a restarted hub may reload from its database (and the only ones
# select_spawner_class may return).
c.FormSpawner.allowed_child_classes = [
    LocalSessionSpawner,
    SlurmSessionSpawner,
    GPUFirstSlurmSpawner,
]
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.cleanup_servers = False
c.Authenticator.allowed_users = {"alice", "bob"}
c.FormSpawner.environments = {"default": {"description": "Site Python", "setup": ""}}
c.SlurmSessionSpawner.cmd = ["/opt/sdcc-lab/jobenv/bin/sdcc-lab-singleuser"]
c.SlurmSessionSpawner.environment = {"PATH": "/opt/sdcc-lab/jobenv/bin:/usr/bin:/bin"}
c.LocalSessionSpawner.cmd = ["/opt/sdcc-lab/jobenv/bin/jupyterhub-singleuser"]
