"""The hub side of sdcc_lab: what a site's ``jupyterhub_config.py`` imports.

Importing this package also adds the batch jobs' port-report endpoint
(``/hub/api/sdcc-lab/port``) to JupyterHub's API.
"""

from .batch import BatchSessionSpawner
from .formspawner import FormSpawner
from .headerauth import HeaderAuthenticator
from .htcondor import HTCondorSessionSpawner
from .local import LocalSessionSpawner, SimpleLocalSessionSpawner
from .portreport import register as _register_port_report
from .sdcc import SDCCSpawner
from .slurm import SlurmSessionSpawner
from .tokenauth import OIDCTokenAuthenticator

_register_port_report()

__all__ = [
    "BatchSessionSpawner",
    "FormSpawner",
    "HTCondorSessionSpawner",
    "HeaderAuthenticator",
    "LocalSessionSpawner",
    "OIDCTokenAuthenticator",
    "SDCCSpawner",
    "SimpleLocalSessionSpawner",
    "SlurmSessionSpawner",
]
