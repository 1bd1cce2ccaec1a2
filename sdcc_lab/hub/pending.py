"""A session waiting in the queue: why, until when, and what the user can do about it.

``GET  /hub/api/sdcc-lab/pending/{user}``: whether the user's server waits in
the queue; if so the job, the scheduler's reason in plain words
(:mod:`sdcc_lab.scheduler.reasons`), its expected start, and choices the user
may use that would start sooner ("start instead"), each with its estimate.

``POST /hub/api/sdcc-lab/pending/{user}/cancel``: cancel the waiting job and end
the spawn, leaving nothing behind (no job, no token file, the spawner's state
cleared): the user is back at the form.

``POST /hub/api/sdcc-lab/pending/{user}/start-instead``: submit other options
(validated exactly as REST ``user_options`` and form posts are) and cancel the
waiting job once the scheduler accepted the new one; the spawn under way
follows the new job.

JupyterHub's scopes decide who may: ``read:servers`` on the user for GET,
``servers`` for the POSTs (a user has both for their own servers; admins per
their roles). A cookie-authenticated POST needs the ``X-XSRFToken`` header
(JupyterHub's API handlers check it). The spawn pending page
(``templates/jupyterhub/spawn_pending.html``, which extends JupyterHub's own)
uses these.

Alternatives are found with at most ``BatchSessionSpawner.start_instead_tests``
test submissions per waiting job, through the hub's shared
:class:`~sdcc_lab.hub.estimate.StartEstimator` (its cache and budget apply).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.scopes import needs_scope
from tornado import web

from ..scheduler.errors import SchedulerError
from .batch import BatchSessionSpawner
from .entitlements import Entitlements
from .errors import SessionRefused
from .estimate import StartEstimate
from .formspawner import FormSpawner
from .options import OptionsError

#: JupyterHub's ``c.JupyterHub.template_paths`` entry for the portal's hub pages.
HUB_TEMPLATES = str(Path(__file__).parent / "templates" / "jupyterhub")

PENDING_PATH = r"/api/sdcc-lab/pending/([^/]+)"
CANCEL_PATH = r"/api/sdcc-lab/pending/([^/]+)/cancel"
START_INSTEAD_PATH = r"/api/sdcc-lab/pending/([^/]+)/start-instead"

# A start this close to the waiting job's own is not worth switching for.
MIN_GAIN = timedelta(minutes=1)


def _batch_of(spawner: Any) -> BatchSessionSpawner | None:
    if isinstance(spawner, BatchSessionSpawner):
        return spawner
    child = getattr(spawner, "child_spawner", None)
    return child if isinstance(child, BatchSessionSpawner) else None


def choice_label(options: dict[str, Any]) -> str:
    """How a choice reads on the page: "partition cpu, account physics, QOS normal, 30 min"."""
    parts = [f"partition {options['partition']}"]
    if options.get("account"):
        parts.append(f"account {options['account']}")
    if options.get("qos"):
        parts.append(f"QOS {options['qos']}")
    if options.get("gpu") not in (None, "none") and options.get("gpus"):
        parts.append(f"{options['gpus']} GPU ({options['gpu']})")
    parts.append(f"{options['runtime']} min")
    return ", ".join(parts)


def candidate_options(current: dict[str, Any], entitlements: Entitlements) -> list[dict[str, Any]]:
    """Other partition/account/QOS choices for the same request, in the form's order.

    The runtime is kept, or shortened to a choice's limit; everything else is the
    current request's. Not validated here (the caller validates each like a post).
    """
    candidates: list[dict[str, Any]] = []
    here = (current.get("partition"), current.get("account"), current.get("qos"))
    for part in entitlements.partitions:
        for account in part.accounts:
            for qos in account.qos:
                if (part.name, account.name, qos) == here:
                    continue
                option = {**current, "partition": part.name, "account": account.name, "qos": qos}
                limit = entitlements.runtime_limit(part.name, account.name, qos)[0]
                if limit is not None and int(option.get("runtime") or 0) > limit:
                    option["runtime"] = limit
                candidates.append(option)
    return candidates


def sooner(candidate: StartEstimate, waiting_start: datetime | None, now: datetime) -> bool:
    """Whether ``candidate`` would start before the waiting job (whose start may be unknown)."""
    if candidate.source != "slurm" or candidate.reason:
        return False
    if candidate.starts_now:
        return waiting_start is None or waiting_start - now > MIN_GAIN
    if candidate.start is None:
        return False
    return waiting_start is None or waiting_start - candidate.start > MIN_GAIN


async def find_alternatives(
    form: FormSpawner, batch: BatchSessionSpawner, job_id: str
) -> list[dict[str, Any]]:
    """Choices this user may use that would start sooner than ``job_id``, best first.

    At most ``batch.start_instead_tests`` test submissions; each candidate is validated
    like a form post and must run on the same kind of spawner as the waiting job.
    """
    limit = batch.start_instead_tests
    if limit <= 0 or not hasattr(batch, "test_only"):
        return []
    current = dict(batch.user_options or {})
    entitlements = await form.user_entitlements()
    found: list[tuple[tuple[int, datetime], dict[str, Any]]] = []
    tested = 0
    for option in candidate_options(current, entitlements):
        if tested >= limit or batch.job_id != job_id:
            break
        try:
            validated = await form.validate(option)
            if form.child_class_for(validated) is not type(batch):
                continue
        except (OptionsError, ValueError):
            continue
        tested += 1
        estimate = await form.estimator.estimate(form.user.name, validated, submit=form.test_submit)
        if estimate.source != "slurm":
            # Over the estimator's budget for now: wait one user interval, ask once more.
            await asyncio.sleep(form.estimator.user_interval)
            estimate = await form.estimator.estimate(
                form.user.name, validated, submit=form.test_submit
            )
        info = batch.wait_info or {}
        waiting_start = datetime.fromisoformat(info["start"]) if info.get("start") else None
        now = datetime.now(timezone.utc)
        if sooner(estimate, waiting_start, now):
            key = (0 if estimate.starts_now else 1, estimate.start or now)
            found.append(
                (
                    key,
                    {
                        "options": validated,
                        "label": choice_label(validated),
                        "estimate": estimate.to_json(),
                    },
                )
            )
    found.sort(key=lambda item: item[0])
    return [entry for _, entry in found]


class AlternativesSearch:
    """The alternatives search of one waiting job (kept on its batch spawner)."""

    def __init__(self, job_id: str, task: asyncio.Task[list[dict[str, Any]]]) -> None:
        self.job_id = job_id
        self.task = task


def alternatives_of(
    form: FormSpawner, batch: BatchSessionSpawner
) -> tuple[list[dict[str, Any]], bool]:
    """The alternatives found so far for the waiting job, and whether the search goes on.

    The search starts on the first question and runs once per job.
    """
    search = batch.alternatives_search
    if not isinstance(search, AlternativesSearch) or search.job_id != batch.job_id:
        if isinstance(search, AlternativesSearch):
            search.task.cancel()
        task = asyncio.ensure_future(find_alternatives(form, batch, batch.job_id))
        search = batch.alternatives_search = AlternativesSearch(batch.job_id, task)
    if not search.task.done():
        return [], True
    if search.task.cancelled() or search.task.exception() is not None:
        return [], False
    return search.task.result(), False


class PendingBase(APIHandler):  # type: ignore[misc]  # JupyterHub is untyped
    def waiting_session(
        self, user_name: str, server_name: str
    ) -> tuple[Any, Any, BatchSessionSpawner | None]:
        """The user, their spawner and its batch session if it waits in the queue."""
        user = self.find_user(user_name)
        if user is None:
            raise web.HTTPError(404, f"no user {user_name}")
        if server_name not in user.orm_spawners:
            return user, None, None
        spawner = user.spawners[server_name]
        batch = _batch_of(spawner)
        if spawner.pending != "spawn" or batch is None or not batch.waiting():
            return user, spawner, None
        return user, spawner, batch

    def require_waiting(self, user_name: str, server_name: str) -> tuple[Any, Any, Any]:
        user, spawner, batch = self.waiting_session(user_name, server_name)
        if batch is None:
            raise web.HTTPError(409, f"{user_name} has no session waiting in the queue")
        return user, spawner, batch


class PendingHandler(PendingBase):
    @needs_scope("read:servers")  # type: ignore[untyped-decorator]  # JupyterHub is untyped
    async def get(self, user_name: str, server_name: str = "") -> None:
        _, spawner, batch = self.waiting_session(user_name, server_name)
        if batch is None:
            self.finish({"waiting": False})
            return
        info = dict(batch.wait_info or {})
        alternatives: list[dict[str, Any]] = []
        searching = False
        if isinstance(spawner, FormSpawner):
            alternatives, searching = alternatives_of(spawner, batch)
        self.finish(
            {
                "waiting": True,
                **info,
                "options": dict(batch.user_options or {}),
                "alternatives": alternatives,
                "searching": searching,
            }
        )


class CancelHandler(PendingBase):
    @needs_scope("servers")  # type: ignore[untyped-decorator]  # JupyterHub is untyped
    async def post(self, user_name: str, server_name: str = "") -> None:
        user, spawner, batch = self.require_waiting(user_name, server_name)
        job_id = batch.job_id
        self.log.info("%s cancels waiting job %s of %s", self.current_user.name, job_id, user.name)
        # End the spawn as JupyterHub's own stop of a pending spawn does: its start()
        # cancels the job on the way out; then stop() clears the state.
        future = spawner._spawn_future
        if future is not None:
            future.cancel()
            await asyncio.wait([future], timeout=batch.command_timeout + 5)
        problem = ""
        try:
            status = await batch.job_status()
            if status.state != "gone":
                await batch.cancel_job()
        except SchedulerError as e:
            problem = str(e.output or e)
        # The hub clears the spawn's pending state on its own way out of the cancelled
        # start: until it has, the form would send the user back to this page.
        loop = asyncio.get_running_loop()
        settle_by = loop.time() + batch.command_timeout + 5
        while spawner.pending and loop.time() < settle_by:  # noqa: ASYNC110 - the hub's state, no event
            await asyncio.sleep(0.1)
        if not spawner.pending:
            await self.stop_single_user(user, server_name)
            if spawner._stop_future is not None:
                await spawner._stop_future
        if problem:
            raise web.HTTPError(
                502, f"the scheduler did not confirm that job {job_id} is cancelled: {problem}"
            )
        self.finish({"cancelled": job_id})


class StartInsteadHandler(PendingBase):
    @needs_scope("servers")  # type: ignore[untyped-decorator]  # JupyterHub is untyped
    async def post(self, user_name: str, server_name: str = "") -> None:
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object of options")
        user, spawner, batch = self.require_waiting(user_name, server_name)
        if not isinstance(spawner, FormSpawner):
            raise web.HTTPError(409, "this portal offers no other choices for this session")
        try:
            options = await spawner.accept_options(body)
            spawner._accepted = None  # not a spawn: a later start validates its own options
            if spawner.child_class_for(options) is not type(batch):
                raise web.HTTPError(
                    400, "this choice needs a new session: cancel, then start it from the form"
                )
        except SessionRefused as e:
            raise web.HTTPError(e.status_code, e.jupyterhub_message) from e
        old_job = batch.job_id
        try:
            new_job = await batch.switch_job(options)
        except SessionRefused as e:
            raise web.HTTPError(e.status_code, e.jupyterhub_message) from e
        spawner.user_options = options
        if spawner.orm_spawner is not None:
            spawner.orm_spawner.user_options = options
            spawner.orm_spawner.state = spawner.get_state()
            self.db.commit()
        self.log.info(
            "%s started job %s instead of job %s for %s",
            self.current_user.name,
            new_job,
            old_job,
            user.name,
        )
        self.finish({"job_id": new_job, "cancelled": old_job, "options": options})


#: The handlers, for ``HUB_API_HANDLERS`` (most specific paths first).
PENDING_HANDLERS: list[tuple[str, type[APIHandler]]] = [
    (CANCEL_PATH, CancelHandler),
    (START_INSTEAD_PATH, StartInsteadHandler),
    (PENDING_PATH, PendingHandler),
]
