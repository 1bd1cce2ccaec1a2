"""``SDCCSpawner``: the portal's default site policy.

"Run locally" → a local process spawner; the HTCondor choice → the HTCondor
backend; anything else → Slurm. A site with other rules derives its own class
from :class:`~sdcc_lab.hub.formspawner.FormSpawner` (see the admin guide).
"""

from __future__ import annotations

from typing import Any

from jupyterhub.spawner import Spawner
from traitlets import Type

from .formspawner import FormSpawner
from .htcondor import HTCondorSessionSpawner
from .local import LocalSessionSpawner
from .slurm import SlurmSessionSpawner


class SDCCSpawner(FormSpawner):
    local_spawner_class = Type(
        LocalSessionSpawner,
        klass=Spawner,
        help="""Spawner class of “Run locally” sessions (a process on the hub's node).""",
    ).tag(config=True)

    slurm_spawner_class = Type(
        SlurmSessionSpawner, klass=Spawner, help="Spawner class of Slurm sessions."
    ).tag(config=True)

    htcondor_spawner_class = Type(
        HTCondorSessionSpawner, klass=Spawner, help="Spawner class of HTCondor sessions."
    ).tag(config=True)

    def select_spawner_class(self, options: dict[str, Any]) -> type[Spawner]:
        if options["local"]:
            return self.local_spawner_class  # type: ignore[no-any-return]
        if self.htcondor_partition and options["partition"] == self.htcondor_partition:
            return self.htcondor_spawner_class  # type: ignore[no-any-return]
        return self.slurm_spawner_class  # type: ignore[no-any-return]

    def allowed_child_classes(self) -> list[type[Spawner]]:
        return [self.local_spawner_class, self.slurm_spawner_class, self.htcondor_spawner_class]
