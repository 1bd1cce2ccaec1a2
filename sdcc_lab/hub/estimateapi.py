"""``GET /hub/api/sdcc-lab/estimate``: when would this choice start?

The user's own session asks (their login cookie, or a token with the
``servers`` scope on themselves): the query's options go through the form's
own path (:meth:`FormSpawner.shape_form` then :meth:`FormSpawner.validate`), so a
choice the user may not use is refused with the form's message (400, or 403
for a partition, account or QOS that is not theirs), and nothing runs for it.
The answer is the budgeted estimate of :mod:`sdcc_lab.hub.estimate`.
"""

from __future__ import annotations

import json

from jupyterhub.apihandlers.base import APIHandler
from tornado import web

from .formspawner import FormSpawner
from .options import OptionsError

ESTIMATE_PATH = r"/api/sdcc-lab/estimate"
#: The query's keys: the request shape (the environment does not change a start).
QUERY_KEYS = ("partition", "account", "qos", "gpu", "gpus", "cpus", "memory", "runtime")
# Refusals about what is the user's (not about the value's form) are 403.
FORBIDDEN_FIELDS = ("partition", "account", "qos")


class EstimateHandler(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    async def get(self) -> None:
        user = self.current_user
        if user is None or getattr(user, "kind", "user") != "user":
            raise web.HTTPError(403, "a user's login or token is required")
        if not self.has_scope(f"servers!user={user.name}"):
            raise web.HTTPError(403, "this token may not start servers for you")
        spawner = user.spawner
        if not isinstance(spawner, FormSpawner):
            raise web.HTTPError(404, "this hub's spawner gives no start estimate")
        formdata: dict[str, list[str]] = {}
        for key, values in self.request.query_arguments.items():
            if key not in QUERY_KEYS:
                raise web.HTTPError(400, f"{key[:40]}: is not an option of this estimate")
            formdata[key] = [v.decode("utf-8", "replace") for v in values]
        if "gpus" in formdata and "gpu" not in formdata:
            formdata["gpu"] = ["any"]  # gpus=N alone means N GPUs of any type
        try:
            options = spawner.shape_form({k: v for k, v in formdata.items() if v != [""]})
            validated = await spawner.validate(options)
        except OptionsError as e:
            raise web.HTTPError(403 if e.field in FORBIDDEN_FIELDS else 400, str(e)) from e
        estimate = await spawner.estimate_validated(validated)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(estimate.to_json()))
