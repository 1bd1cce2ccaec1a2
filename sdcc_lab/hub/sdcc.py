"""``SDCCSpawner``: the portal's default site policy.

"Run locally" → a local process spawner; the HTCondor choice → the HTCondor
backend; anything else → Slurm. A site with other rules sets
``c.FormSpawner.select_spawner_class`` (or derives a class with its own
``@default("select_spawner_class")``); see the admin guide.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.spawner import Spawner
from traitlets import Type, default

from .formspawner import FormSpawner
from .htcondor import HTCondorSessionSpawner
from .local import LocalSessionSpawner
from .slurm import SlurmSessionSpawner


def sdcc_placement(spawner: SDCCSpawner, options: dict[str, Any]) -> type[Spawner]:
    """Local, HTCondor or Slurm, as the user chose (a ``select_spawner_class`` hook)."""
    if options["local"]:
        return spawner.local_spawner_class  # type: ignore[no-any-return]
    if spawner.htcondor_partition and options["partition"] == spawner.htcondor_partition:
        return spawner.htcondor_spawner_class  # type: ignore[no-any-return]
    return spawner.slurm_spawner_class  # type: ignore[no-any-return]


class SDCCSpawner(FormSpawner):
    local_spawner_class = Type(
        LocalSessionSpawner,
        klass=Spawner,
        help="""Spawner class of “Run locally” sessions (a process on the hub's node)::

            c.SDCCSpawner.local_spawner_class = "sdcc_lab.hub.SimpleLocalSessionSpawner"
        """,
    ).tag(config=True)

    slurm_spawner_class = Type(
        SlurmSessionSpawner,
        klass=Spawner,
        help="""Spawner class of Slurm sessions::

            c.SDCCSpawner.slurm_spawner_class = "mysite.spawners.SiteSlurmSpawner"
        """,
    ).tag(config=True)

    htcondor_spawner_class = Type(
        HTCondorSessionSpawner,
        klass=Spawner,
        help="""Spawner class of HTCondor sessions::

            c.SDCCSpawner.htcondor_spawner_class = "mysite.spawners.SiteCondorSpawner"
        """,
    ).tag(config=True)

    @default("select_spawner_class")
    def _default_select_spawner_class(self) -> Any:
        return sdcc_placement

    @default("allowed_child_classes")
    def _default_allowed_child_classes(self) -> list[type[Spawner]]:
        return [self.local_spawner_class, self.slurm_spawner_class, self.htcondor_spawner_class]
